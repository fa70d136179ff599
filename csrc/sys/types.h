/*
 * BSD integer types and helpers the port uses, for the simulated kernel.
 */
#ifndef _SYS_TYPES_H_
#define	_SYS_TYPES_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t		u_int8_t;
typedef uint16_t	u_int16_t;
typedef uint32_t	u_int32_t;
typedef uint64_t	u_int64_t;
typedef unsigned char	u_char;
typedef unsigned short	u_short;
typedef unsigned int	u_int;
typedef unsigned long	u_long;
typedef uintptr_t	vm_offset_t;
typedef uintptr_t	vm_paddr_t;
typedef int64_t		vm_pindex_t;
typedef char		*caddr_t;

#define	bzero(p, n)	memset((p), 0, (n))
#define	bcopy(s, d, n)	memmove((d), (s), (n))

#endif /* !_SYS_TYPES_H_ */
