/* SPDX-License-Identifier: MIT */
#ifndef KP_NEAR_H
#define KP_NEAR_H

#include <stddef.h>

/*
 * Close names for a misspelt one: small edit distances first (transposed
 * letters count as one edit), then names containing it, then names sharing
 * most of its prefix. Offered names must stay valid until kp_near_format().
 */
struct kp_near;

/* A collector of the best @max names close to @want (@wlen bytes). */
struct kp_near *kp_near_new(const char *want, size_t wlen, int max);
void kp_near_free(struct kp_near *k);
/* Offer one candidate name (not NUL-terminated, @len bytes). */
void kp_near_offer(struct kp_near *k, const char *name, size_t len);
/* Write the kept names, best first, as "a, b, c" into @buf; never cuts a
 * name short. Return: how many were written. */
int kp_near_format(const struct kp_near *k, char *buf, size_t len);

#endif
