/*
 * Building blocks of digest(): the kernel hashes its own state, and each
 * subsystem (VM, UMA) registers a walk of its own with digest_register().
 */
#ifndef _KERN_DIGEST_H_
#define	_KERN_DIGEST_H_

#include <stddef.h>
#include <stdint.h>

struct sim;

struct digest {
	uint64_t	h;
};

typedef void digest_fn_t(struct digest *d, const struct sim *s);

void	dg_bytes(struct digest *d, const void *p, size_t n);
void	dg_u64(struct digest *d, uint64_t v);
void	dg_str(struct digest *d, const char *str);
void	dg_ptr(struct digest *d, const struct sim *s, const void *p);

#endif /* !_KERN_DIGEST_H_ */
