// SPDX-License-Identifier: MIT
/* kp_features: finding the kernel code behind a feature in kallsyms text. */
#include <stdbool.h>
#include <string.h>

#include "kp_features.h"
#include "t.h"

static const char text[] = "ffffffff81000000 T _stext\n"
			   "ffffffff81001000 t eprobe_dyn_event_create\n"
			   "ffffffff81002000 t btf_module_notify.cold\n"
			   "ffffffff81003000 T rethook_find_ret_addr_helper\n"
			   "ffffffff81004000 T __pfx_ibt_selftest\n"
			   "ffffffffc0001000 t ibt_selftest\t[somemod]\n"
			   "garbage\n"
			   "ffffffff81005000 T\n"
			   "ffffffff81006000 t kretprobe_find_ret_addr"; /* no final newline */

int main(void)
{
	const char *names[] = { "eprobe_dyn_event_create",
				"btf_module_notify",
				"rethook_find_ret_addr",
				"ibt_selftest",
				"kretprobe_find_ret_addr",
				"_stext",
				"stext" };
	bool found[7];

	kp_feature_ksyms(text, strlen(text), names, 7, found);
	T_OK(found[0], "a static function is found");
	T_OK(found[1], "a compiler's clone (NAME.cold) counts as NAME");
	T_OK(!found[2], "a longer name that starts with NAME is not NAME");
	T_OK(!found[3], "a module's symbol and a __pfx_ one are not the core kernel's NAME");
	T_OK(found[4], "the last line, without a newline, is read");
	T_OK(found[5], "a T symbol is found");
	T_OK(!found[6], "a name that ends another (stext in _stext) is not found");

	kp_feature_ksyms("", 0, names, 7, found);
	T_OK(!found[0] && !found[5], "an empty text holds nothing");
	kp_feature_ksyms("x T eprobe_dyn_event_create\n", 26, names, 1, found);
	T_OK(!found[0], "a name cut by the length is not matched");
	{
		const char *empty[] = { "" };

		kp_feature_ksyms("x T \nx T .cold\n", 15, empty, 1, found);
		T_OK(!found[0], "an empty name field is no symbol, not even \"\"");
	}

	for (size_t i = 0; i < kp_feature_count(); i++)
		T_OK(kp_feature_name(i) && kp_feature_has(kp_feature_name(i)) >= 0,
		     "feature %s is known to kp_feature_has", kp_feature_name(i));
	T_EQ_INT(kp_feature_has("teleport"), -2, "an unknown feature is -ENOENT");
	return T_DONE();
}
