/*
 * struct mtx of FreeBSD 7 on amd64: 48 bytes, so that the kegs and zones
 * that embed one have their real sizes.  mtx_lock holds the owner (a
 * thread id, shifted, with the flag bits below) or MTX_UNOWNED.
 */
#ifndef _SYS__MUTEX_H_
#define	_SYS__MUTEX_H_

#include <stdint.h>

#include "_lock.h"

struct mtx {
	struct lock_object	lock_object;
	volatile uintptr_t	mtx_lock;
	volatile unsigned int	mtx_recurse;
};

_Static_assert(sizeof(struct mtx) == 48, "struct mtx is 48 bytes on amd64");

#endif /* !_SYS__MUTEX_H_ */
