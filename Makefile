# kpscript build. `make` builds build/kpscript; `make test` runs every tier.
# V=1 shows full commands.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SCRIPTDIR ?= $(PREFIX)/share/kpscript/scripts
VERSION := 0.1.0

CC ?= cc
LUAJIT ?= luajit
PKGS := luajit libbpf libelf libtraceevent libtracefs
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wwrite-strings -Werror
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(PKG_CFLAGS) \
	-DKP_VERSION='"$(VERSION)"' -DKP_SCRIPTDIR='"$(SCRIPTDIR)"'
# The release binary is optimized at link time: an event crosses several
# small files (kp_merge, kp_perf_parse, kp_source_live, kp_run, kp_deliver,
# kp_lua_event), and LTO inlines across them (bench/RESULTS.md, 2026-12-07).
# LTO= builds without it.
LTO ?= -flto=auto
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS := $(PKG_LIBS) -llua5.1-cjson -lm

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2)
endif

HOST_SRC := $(wildcard host/*.c)
LIB_SRC := $(filter-out host/main.c,$(HOST_SRC))
LUA_SRC := $(wildcard lua/*.lua)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
PROG_SRC := $(wildcard tests/progs/*.c)
BENCH_SRC := $(wildcard bench/*.c)

OBJ := $(HOST_SRC:host/%.c=build/obj/%.o)
LIB_OBJ := $(LIB_SRC:host/%.c=build/obj/%.o)
SAN_OBJ := $(HOST_SRC:host/%.c=build/asan/%.o)
SAN_LIB_OBJ := $(LIB_SRC:host/%.c=build/asan/%.o)
LUA_OBJ := $(LUA_SRC:lua/%.lua=build/lua/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=build/tests/%)
PROG_BIN := $(PROG_SRC:tests/progs/%.c=build/progs/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=build/bench/%)

.PHONY: all asan test unit live vmtest install uninstall clean format progs bench-bin deps \
	fuzz fuzz-bin fuzz-try
all: build/kpscript

build/obj/%.o: host/%.c $(wildcard host/*.h) | build/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(LTO) -c $< -o $@

build/asan/%.o: host/%.c $(wildcard host/*.h) | build/asan
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -c $< -o $@

# lua/ is compiled to bytecode objects; with -Wl,-E LuaJIT's require finds
# luaJIT_BC_<name> in the executable, so no Lua file is installed.
build/lua/%.o: lua/%.lua | build/lua
	$(call msg,LUAJIT,$@)
	$(Q)$(LUAJIT) -b -g $< $@

build/kpscript: $(OBJ) $(LUA_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LTO) -Wl,-E -o $@ $^ $(LDLIBS)

build/asan/kpscript: $(SAN_OBJ) $(LUA_OBJ)
	$(call msg,LD-SAN,$@)
	$(Q)$(CC) $(SAN_FLAGS) -Wl,-E -o $@ $^ $(LDLIBS)

asan: build/asan/kpscript

build/tests/%: tests/unit/%.c $(SAN_LIB_OBJ) $(LUA_OBJ) $(wildcard tests/unit/*.h) | build/tests
	$(call msg,CC-TEST,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -Ihost -Wl,-E -o $@ $< $(SAN_LIB_OBJ) $(LUA_OBJ) $(LDLIBS)

# Test targets for uprobes: frame pointers, no inlining, symbols kept.
build/progs/%: tests/progs/%.c | build/progs
	$(call msg,CC-PROG,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -fno-omit-frame-pointer -fno-inline -Wall -Wextra -Werror -o $@ $<

# A static program: no libc to put a uprobe on, as busybox or Go programs.
build/progs/static_%: tests/progs/static_%.c | build/progs
	$(call msg,CC-PROG,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O1 -g -static -Wall -Wextra -Werror -o $@ $<

build/bench/%: bench/%.c | build/bench
	$(call msg,CC-BENCH,$@)
	$(Q)$(CC) -std=c11 -D_GNU_SOURCE -O2 -g $(WARN) -o $@ $<

progs: $(PROG_BIN)
bench-bin: $(BENCH_BIN)

# Fuzzers (tests/fuzz/README.md): libFuzzer targets, built with clang under
# ASan and UBSan. The host objects go into an archive, so each target links
# only what it uses. `make fuzz` runs each for FUZZ_SECONDS; `make test`
# runs each for FUZZ_TEST_SECONDS.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TEST_SECONDS ?= 4
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g $(PKG_CFLAGS) \
	-DKP_VERSION='"$(VERSION)"' -DKP_SCRIPTDIR='"$(SCRIPTDIR)"' \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)
# kp_host.c, the Lua binding, holds no parser of its own: it is left out
FUZZ_OBJ := $(filter-out build/fuzz/obj/kp_host.o,$(LIB_SRC:host/%.c=build/fuzz/obj/%.o))
# names the compiler the objects were built with: another FUZZ_CC rebuilds
# them (sanitizer runtimes of two clang versions do not mix)
FUZZ_STAMP := build/fuzz/obj/cc.$(subst /,_,$(FUZZ_CC))

$(FUZZ_STAMP): | build/fuzz/obj
	$(Q)rm -f build/fuzz/obj/cc.* && touch $@

build/fuzz/obj/%.o: host/%.c $(wildcard host/*.h) $(FUZZ_STAMP) | build/fuzz/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libkp.a: $(FUZZ_OBJ)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build/fuzz/libkp.a $(wildcard tests/unit/*.h)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Ihost -Itests/unit -o $@ $< \
		build/fuzz/libkp.a $(LDLIBS)

fuzz-bin: $(FUZZ_BIN)

fuzz: fuzz-bin
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/run.sh fuzz

# For `make test`: a fuzz build that cannot be made (no clang, no libFuzzer
# runtime) must not stop the other tiers; build/fuzz/BUILD_FAILED holds
# why, and tests/run.sh reports it as a failure.
fuzz-try: | build/fuzz
	$(Q)rm -f build/fuzz/BUILD_FAILED
	$(Q)if ! command -v $(FUZZ_CC) >/dev/null 2>&1; then \
		echo "$(FUZZ_CC) not found (tests/deps.sh installs clang and libclang-rt-14-dev)" \
			>build/fuzz/BUILD_FAILED; \
	elif ! $(MAKE) --no-print-directory fuzz-bin >build/fuzz/build.log 2>&1; then \
		{ grep -m1 -e 'cannot find' -e 'error' build/fuzz/build.log || \
			tail -n 1 build/fuzz/build.log; \
		  echo "(all of it in build/fuzz/build.log)"; } | paste -sd ' ' \
			>build/fuzz/BUILD_FAILED; \
	fi
	$(Q)if [ -f build/fuzz/BUILD_FAILED ]; then \
		echo "  fuzz build failed: $$(cat build/fuzz/BUILD_FAILED)"; fi

build/obj build/asan build/lua build/tests build/progs build/bench build/fuzz build/fuzz/obj:
	$(Q)mkdir -p $@

deps:
	sh tests/deps.sh

unit: $(UNIT_BIN)
	sh tests/run.sh unit

live: build/kpscript build/asan/kpscript $(PROG_BIN)
	sh tests/run.sh live

# KERNELS picks the VM tier's guest kernels by label (tests/vm/kernels):
# make vmtest KERNELS="6.12"; empty: all of them
KERNELS ?=

vmtest: build/kpscript $(PROG_BIN)
	KP_VM_KERNELS="$(KERNELS)" sh tests/run.sh vm

test: build/kpscript build/asan/kpscript $(UNIT_BIN) $(PROG_BIN) fuzz-try
	KP_VM_KERNELS="$(KERNELS)" FUZZ_SECONDS=$(FUZZ_TEST_SECONDS) sh tests/run.sh all

install: build/kpscript
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SCRIPTDIR)
	install -m 0755 build/kpscript $(DESTDIR)$(BINDIR)/kpscript
	install -m 0644 scripts/*.lua $(DESTDIR)$(SCRIPTDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kpscript
	rm -rf $(DESTDIR)$(PREFIX)/share/kpscript

format:
	clang-format -i host/*.c host/*.h tests/unit/*.c tests/unit/*.h tests/progs/*.c bench/*.c \
		tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf build
