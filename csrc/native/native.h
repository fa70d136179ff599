/*
 * The native build of the UMA port (csrc/native/): one simulation, one
 * thread, no scheduler.  See native_kern.c.
 */
#ifndef _NATIVE_NATIVE_H_
#define	_NATIVE_NATIVE_H_

#include "../kern/kern.h"

struct sim *native_sim_new(const struct umasim_config *cfg, char *err,
	    size_t errlen);
void	native_sim_free(struct sim *s);

/* The one exported symbol of the native shared object. */
#define	NATIVE_EXPORT	__attribute__((visibility("default")))

#endif /* !_NATIVE_NATIVE_H_ */
