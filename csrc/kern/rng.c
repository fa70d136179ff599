/*
 * xoshiro256** seeded through splitmix64: the simulator's only source of
 * randomness, so a seed fixes a run on every machine.
 */
#include <stdint.h>

#include "kern.h"

static inline uint64_t
rotl(uint64_t x, int k)
{

	return ((x << k) | (x >> (64 - k)));
}

uint64_t
rng_next(uint64_t st[4])
{
	uint64_t r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;

	st[2] ^= st[0];
	st[3] ^= st[1];
	st[1] ^= st[2];
	st[0] ^= st[3];
	st[2] ^= t;
	st[3] = rotl(st[3], 45);
	return (r);
}

void
rng_seed(uint64_t st[4], uint64_t seed)
{
	uint64_t z;
	int i;

	for (i = 0; i < 4; i++) {
		z = (seed += 0x9e3779b97f4a7c15ULL);
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		st[i] = z ^ (z >> 31);
	}
}

/* Uniform in [0, n), without modulo bias (Lemire). */
uint64_t
rng_below(uint64_t st[4], uint64_t n)
{
	__uint128_t m;
	uint64_t l, t;

	m = (__uint128_t)rng_next(st) * n;
	l = (uint64_t)m;
	if (l < n) {
		t = -n % n;
		while (l < t) {
			m = (__uint128_t)rng_next(st) * n;
			l = (uint64_t)m;
		}
	}
	return ((uint64_t)(m >> 64));
}

double
rng_unit(uint64_t st[4])
{

	return ((double)(rng_next(st) >> 11) * 0x1.0p-53);
}
