# splitbrain — one non-recursive Makefile.
#
#   make                 build build/splitbrain and build/raftnode
#   make test            every test: unit, simulation, corpus, integration (needs root)
#   make test-quick      the same without the integration tests
#   make test-targets    only the campaigns against etcd and Redis + Sentinel (root)
#   make SANITIZE=1 test the whole suite under AddressSanitizer + UBSan (objects in build/san)
#   make bench           benchmarks; they print their figures (see bench/RESULTS.md)
#   make detect          the detection matrix: each bug switch against its scenario, K seeds,
#                        and the correct node through every scenario (root; DETECT_ARGS=...)
#   make fuzz            build the libFuzzer targets with clang and run each briefly
#   make deps            install the Debian packages the build and the tests need
#   make demo            the lab demo: raftnode on a 3-host local lab, a leader crash (root)
#   make clean
#
# Sources are found by wildcard: a new module `part/foo.c` needs no edit here. Each part is
# an archive; `harness/main.c` and `node/main.c` hold the two programs' entry points. A unit
# test `tests/unit/<part>/test_<name>.c` becomes `$(BUILD)/tests/unit/<part>/test_<name>`.

CC       ?= gcc
BUILD    ?= build
SANITIZE ?=

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Wvla -Wno-unused-parameter -Wno-format-nonliteral
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -pthread $(WARN) -I. -MMD -MP
LDLIBS   := -pthread -lm

ifneq ($(SANITIZE),)
  # override: BUILD=build/<name> on the command line must still get its own san/ subdir
  override BUILD := $(BUILD)/san
  SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  CFLAGS += $(SANFLAGS)
  LDFLAGS += $(SANFLAGS)
endif

# libcurl and libmicrohttpd are not linked: harness/lazylib.c opens them when first used,
# so that commands that never speak HTTP do not load them and what they depend on.
EXT_LIBS := -lssh2 -lyaml -lpcre2-8

LIB_SRC     := $(wildcard lib/*.c)
CHECKER_SRC := $(wildcard checker/*.c)
HARNESS_SRC := $(filter-out harness/main.c,$(wildcard harness/*.c harness/*/*.c))
NODE_SRC    := $(filter-out node/main.c,$(wildcard node/*.c))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_A     := $(BUILD)/libsb.a
CHECKER_A := $(BUILD)/libchecker.a
HARNESS_A := $(BUILD)/libharness.a
NODE_A    := $(BUILD)/libnode.a

SPLITBRAIN := $(BUILD)/splitbrain
RAFTNODE   := $(BUILD)/raftnode

# Unit and simulation tests: one binary per file. What each part's tests link:
#   lib, checker: libchecker + libsb;  node: libnode + libsb (libc only, like raftnode);
#   harness: everything.
UNIT_SRC  := $(wildcard tests/unit/*/test_*.c)
UNIT_BIN  := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRC))
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(patsubst tests/tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
# Objects shared by tests only (helpers, fakes): tests/support/*.c
SUPPORT_SRC := $(wildcard tests/support/*.c)
SUPPORT_OBJ := $(call obj,$(SUPPORT_SRC))

.PHONY: all test test-quick test-integration test-targets bench detect fuzz deps demo clean format
all: $(SPLITBRAIN) $(RAFTNODE) $(TOOL_BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(call obj,$(LIB_SRC))
$(CHECKER_A): $(call obj,$(CHECKER_SRC))
$(HARNESS_A): $(call obj,$(HARNESS_SRC))
$(NODE_A): $(call obj,$(NODE_SRC))
$(LIB_A) $(CHECKER_A) $(HARNESS_A) $(NODE_A):
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

$(SPLITBRAIN): $(BUILD)/harness/main.o $(HARNESS_A) $(CHECKER_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(EXT_LIBS) $(LDLIBS)

# raftnode is uploaded to plain hosts: it links nothing beyond libc.
$(RAFTNODE): $(BUILD)/node/main.o $(NODE_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/lib/%: tests/unit/lib/%.c $(SUPPORT_OBJ) $(CHECKER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(CHECKER_A) $(LIB_A) -lcmocka $(LDLIBS)

$(BUILD)/tests/unit/checker/%: tests/unit/checker/%.c $(SUPPORT_OBJ) $(CHECKER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(CHECKER_A) $(LIB_A) -lcmocka $(LDLIBS)

$(BUILD)/tests/unit/node/%: tests/unit/node/%.c $(SUPPORT_OBJ) $(NODE_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(NODE_A) $(LIB_A) -lcmocka $(LDLIBS)

$(BUILD)/tests/unit/harness/%: tests/unit/harness/%.c $(SUPPORT_OBJ) $(HARNESS_A) $(CHECKER_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(HARNESS_A) $(CHECKER_A) $(LIB_A) -lcmocka $(EXT_LIBS) $(LDLIBS)

# Command-line tools used by tests and benchmarks (history generator, load clients, ...).
$(BUILD)/tools/%: tests/tools/%.c $(SUPPORT_OBJ) $(HARNESS_A) $(CHECKER_A) $(NODE_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(SUPPORT_OBJ) $(HARNESS_A) $(CHECKER_A) $(NODE_A) $(LIB_A) $(EXT_LIBS) $(LDLIBS)

# Benchmarks also link jansson (bench/parse.c compares the history reader with it).
$(BUILD)/bench/%: bench/%.c $(HARNESS_A) $(CHECKER_A) $(NODE_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(HARNESS_A) $(CHECKER_A) $(NODE_A) $(LIB_A) $(EXT_LIBS) -ljansson $(LDLIBS)

# The test runner prints one line per test and a closing "N passed, N failed, N skipped" line.
# TEST_ARGS go to tests/run.sh (e.g. --skip-slow, or a pattern).
test: all $(UNIT_BIN)
	BUILD=$(BUILD) tests/run.sh $(TEST_ARGS)

test-quick: all $(UNIT_BIN)
	BUILD=$(BUILD) tests/run.sh --quick

test-integration: all $(UNIT_BIN)
	BUILD=$(BUILD) tests/run.sh --only-integration

# etcd and Redis + Sentinel through the runner (root; part of `make test` too).
test-targets: all
	BUILD=$(BUILD) tests/run.sh test_targets_lab

bench: all $(BENCH_BIN)
	BUILD=$(BUILD) bench/run.sh

# bench/detect.sh: per bug and scenario, how many of K seeded runs found the bug and the
# median time to detection; the correct node's runs (bench/RESULTS.md has the figures).
DETECT_ARGS ?=
detect: all
	BUILD=$(BUILD) bench/detect.sh $(DETECT_ARGS)

# libFuzzer targets: tests/fuzz/fuzz_<name>.c. Every target links the same objects: lib,
# checker, node and harness (without the programs' main.c), compiled once with clang into
# build/fuzz/obj, and the libraries the harness needs; a target uses what it calls.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_SECONDS ?= 20
FUZZ_LIB_SRC := $(LIB_SRC) $(CHECKER_SRC) $(NODE_SRC) $(HARNESS_SRC)
FUZZ_OBJ := $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
# Undefined behaviour must fail a fuzz run, not just print: -fno-sanitize-recover=undefined.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -I. -pthread -fno-sanitize-recover=undefined
build/fuzz/obj/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
build/fuzz/%: tests/fuzz/%.c $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined \
	  -o $@ $< $(FUZZ_OBJ) $(EXT_LIBS) -lm
# The objects are shared by every target: keep them (make would delete them as intermediates).
.SECONDARY: $(FUZZ_OBJ)
fuzz: $(FUZZ_BIN)
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BIN)

deps:
	scripts/install-deps.sh

# The lab demo (root): a 3-node raftnode cluster on the local lab, a leader crash, re-election.
demo: all
	BUILD=$(BUILD) scripts/lab-demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
