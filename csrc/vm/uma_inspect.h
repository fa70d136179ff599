/* Declarations of uma_inspect.c's structures live in umasim_api.h. */
#ifndef _VM_UMA_INSPECT_H_
#define	_VM_UMA_INSPECT_H_

#include "../umasim_api.h"

#endif
