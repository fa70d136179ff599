/*
 * Sleep mutexes as FreeBSD 7 had them: a contested mtx_lock blocks, and
 * mtx_unlock makes every waiter runnable to compete again.
 */
#ifndef _SYS_MUTEX_H_
#define	_SYS_MUTEX_H_

#include "_mutex.h"

#define	MTX_DEF		0x00000000
#define	MTX_SPIN	0x00000001
#define	MTX_RECURSE	0x00000004
#define	MTX_NOWITNESS	0x00000008
#define	MTX_DUPOK	0x00000020

#define	MTX_RECURSED	0x00000001	/* in mtx_lock */
#define	MTX_CONTESTED	0x00000002
#define	MTX_UNOWNED	0x00000004
#define	MTX_DESTROYED	(MTX_CONTESTED | MTX_UNOWNED)
#define	MTX_FLAGMASK	(MTX_RECURSED | MTX_CONTESTED | MTX_UNOWNED)

#define	MA_OWNED	0x01
#define	MA_NOTOWNED	0x02
#define	MA_RECURSED	0x04
#define	MA_NOTRECURSED	0x08

void	mtx_init(struct mtx *m, const char *name, const char *type, int opts);
void	mtx_destroy(struct mtx *m);
void	mtx_lock(struct mtx *m);
void	mtx_unlock(struct mtx *m);
int	mtx_owned(struct mtx *m);
int	mtx_owner_tid(const struct mtx *m);
void	mtx_assert(struct mtx *m, int what);
/* For the kernel's own use: no preemption point (msleep's relock). */
void	mtx_lock_nopoint(struct mtx *m);
void	mtx_unlock_nopoint(struct mtx *m);

#define	mtx_initialized(m)	(((m)->lock_object.lo_flags & 0x00010000) != 0)

#endif /* !_SYS_MUTEX_H_ */
