/* SPDX-License-Identifier: MIT */
#ifndef KP_ERR_H
#define KP_ERR_H

/*
 * Functions return 0 or -errno; constructors return NULL and set errno.
 * Codes specific to kpscript live above the errno range and are turned
 * into text by kp_strerror() alone.
 */
enum kp_err {
	KP_ERR_START = 100000,
	KP_EFORMAT = KP_ERR_START, /* tracefs format text could not be parsed */
	KP_EBOUNDS, /* a record field points outside the record */
	KP_ENOSYM, /* ELF symbol not found */
	KP_ENOTELF, /* file is not an ELF object we can probe */
	KP_ENOSEG, /* address is in no loadable segment */
	KP_ENOTRACEFS, /* tracefs is not mounted and cannot be */
	KP_ENOEVENT, /* tracepoint or dynamic event does not exist */
	KP_EKERNEL, /* the kernel refused a tracefs command */
	KP_ERR_END,
};

/* Text for a negative or positive error code, errno or KP_E*. */
const char *kp_strerror(int err);

#endif
