/*
 * uma_dbg.h -- UMA's debugging aids (INVARIANTS): the junk-filling trash
 * callbacks and the duplicate-free detector.
 */
#ifndef _VM_UMA_DBG_H_
#define	_VM_UMA_DBG_H_

#include "uma_int.h"

int	trash_ctor(void *mem, int size, void *arg, int flags);
void	trash_dtor(void *mem, int size, void *arg);
int	trash_init(void *mem, int size, int flags);
void	trash_fini(void *mem, int size);
int	mtrash_ctor(void *mem, int size, void *arg, int flags);
void	mtrash_dtor(void *mem, int size, void *arg);
int	mtrash_init(void *mem, int size, int flags);
void	mtrash_fini(void *mem, int size);

void	uma_dbg_free(uma_zone_t zone, uma_slab_t slab, void *item);
void	uma_dbg_alloc(uma_zone_t zone, uma_slab_t slab, void *item);

#endif /* !_VM_UMA_DBG_H_ */
