/*
 * The VM's page counters (FreeBSD's global struct vmmeter cnt), of the
 * current simulation.  A macro, so only the files that read cnt include it.
 */
#ifndef _SYS_VMMETER_H_
#define	_SYS_VMMETER_H_

#include "../kern/kern.h"

#define	cnt		(cursim->st.vm.cnt)

#endif /* !_SYS_VMMETER_H_ */
