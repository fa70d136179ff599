/*
 * struct lock_object as FreeBSD 7 laid it out on amd64 (no LOCK_PROFILING):
 * 32 bytes.  The simulator keeps no state of its own here beyond what the
 * real kernel kept: name, type, flags.
 */
#ifndef _SYS__LOCK_H_
#define	_SYS__LOCK_H_

struct witness;

struct lock_object {
	const char	*lo_name;	/* this lock's name */
	const char	*lo_type;	/* its class or type */
	unsigned int	lo_flags;
	union {
		struct {
			struct lock_object *stqe_next;
		} lod_list;
		struct witness	*lod_witness;
	} lo_witness_data;
};

#define	LO_INITIALIZED	0x00010000

#endif /* !_SYS__LOCK_H_ */
