/*
 * Machine parameters of the simulated amd64 (PAGE_SIZE 4096) and the BSD
 * arithmetic macros.
 */
#ifndef _SYS_PARAM_H_
#define	_SYS_PARAM_H_

#include "types.h"
#include "../kern/vm.h"		/* PAGE_SIZE, PAGE_SHIFT, PAGE_MASK */

#define	roundup(x, y)	((((x) + ((y) - 1)) / (y)) * (y))
#define	howmany(x, y)	(((x) + ((y) - 1)) / (y))
#define	MIN(a, b)	(((a) < (b)) ? (a) : (b))
#define	MAX(a, b)	(((a) > (b)) ? (a) : (b))

#define	PVM		4	/* msleep priority of VM waits */

#define	ENOMEM		12
#define	EINVAL		22

#endif /* !_SYS_PARAM_H_ */
