// SPDX-License-Identifier: MIT
#include <string.h>

#include "kp_err.h"

static const char *const kp_errstr[KP_ERR_END - KP_ERR_START] = {
	[KP_EFORMAT - KP_ERR_START] = "malformed tracefs format",
	[KP_EBOUNDS - KP_ERR_START] = "field outside the record",
	[KP_ENOSYM - KP_ERR_START] = "symbol not found",
	[KP_ENOTELF - KP_ERR_START] = "not an ELF file that can be probed",
	[KP_ENOSEG - KP_ERR_START] = "address in no loadable segment",
	[KP_ENOTRACEFS - KP_ERR_START] = "tracefs is not mounted",
	[KP_ENOEVENT - KP_ERR_START] = "no such event",
	[KP_EKERNEL - KP_ERR_START] = "the kernel refused the command",
};

const char *kp_strerror(int err)
{
	if (err < 0)
		err = -err;
	if (err >= KP_ERR_START && err < KP_ERR_END)
		return kp_errstr[err - KP_ERR_START];
	return strerror(err);
}
