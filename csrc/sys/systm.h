/*
 * panic, printf and KASSERT for the port.  INVARIANTS is a property of
 * each simulation (docs/design.md): compiled in, switched at run time, so
 * KASSERT and the uma_dbg checks cost one flag test when it is off.
 */
#ifndef _SYS_SYSTM_H_
#define	_SYS_SYSTM_H_

#include "../kern/kern.h"

#define	printf		kern_printf
#define	INVARIANTS_ON	(cursim->st.cfg.invariants)

#define	KASSERT(exp, msg) do {						\
	if (INVARIANTS_ON && __builtin_expect(!(exp), 0))		\
		panic msg;						\
} while (0)

#define	curthread	(kern_curthread())
#define	curcpu		(kern_curthread()->td_cpu)
#define	mp_ncpus	(cursim->st.ncpus)
#define	mp_maxid	(cursim->st.maxid)
#define	CPU_ABSENT(cpu)	((cpu) < 0 || (cpu) >= cursim->st.ncpus)
#define	hz		1000
#define	ticks		((int)cursim->st.now)
#define	CALLOUT_MPSAFE	1

#endif /* !_SYS_SYSTM_H_ */
