/* SPDX-License-Identifier: MIT */
#ifndef KP_FILE_H
#define KP_FILE_H

#include <stddef.h>

/**
 * kp_file_read() - read a whole file whose size stat() does not tell
 * (tracefs and procfs files report 0): read(2) until EOF.
 * @path: the file
 * @hint: the first buffer's size; it doubles as needed
 * @out: out, the contents, NUL-terminated (free() it)
 * @len: out, the length without the NUL; may be NULL
 *
 * Return: 0 or -errno (-ENOMEM).
 */
int kp_file_read(const char *path, size_t hint, char **out, size_t *len);

#endif
