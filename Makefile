# nnc: `make` builds the compiler and the runtime; `make run` trains the seed
# model on Fashion-MNIST; `make test` runs every test. Both install what is
# missing first (scripts/deps.sh).

CC      ?= cc
# -fno-math-errno lets GCC vectorize sqrtf/expf loops (the optimizer update).
OPT     ?= -O3 -fno-math-errno
CFLAGS  ?= $(OPT) -g
# The flags every generated trainer must pass; our own C meets them too.
STRICT  := -std=c11 -Wall -Wextra -Werror -pedantic
WARN    := $(STRICT) -Wshadow -Wmissing-prototypes -Wstrict-prototypes
BLAS_CFLAGS := $(shell pkg-config --cflags openblas 2>/dev/null)
BLAS_LIBS   := $(shell pkg-config --libs openblas 2>/dev/null || echo -lopenblas)
# The one version: nnc --version, the trainers' help, nnrt.pc; tests/12-version.t
# checks debian/changelog against it.
VERSION := $(shell cat VERSION)
CPPFLAGS += -D_POSIX_C_SOURCE=200809L -DNNC_VERSION='"$(VERSION)"'
LDLIBS_RT := $(BLAS_LIBS) -lz -lm

B := build
# Generated C includes <nnc/nnrt.h>, the installed layout; in the tree that
# layout is $(INC): build/include/nnc/nnrt.h, a copy of runtime/nnrt.h.
INC := $(B)/include

COMPILER_SRC := $(wildcard compiler/*.c)
COMPILER_OBJ := $(COMPILER_SRC:%.c=$(B)/%.o) $(B)/grammar/parser.o $(B)/grammar/lexer.o
# The processes of a run (runtime/dist.h): one, or with `make MPI=1` as many
# as mpirun starts; the trainers are then built with mpicc.
ifeq ($(MPI),1)
CC           := mpicc
RUNTIME_SRC  := $(filter-out runtime/dist_local.c,$(wildcard runtime/*.c))
else
RUNTIME_SRC  := $(filter-out runtime/dist_mpi.c,$(wildcard runtime/*.c))
endif
RUNTIME_OBJ  := $(RUNTIME_SRC:%.c=$(B)/%.o)

.PHONY: all deps run test sanitize bench bench-compare bench-deploy study clean golden fuzz tabular
.DELETE_ON_ERROR:
.SECONDARY:

all: $(B)/nnc $(B)/libnnrt.a $(INC)/nnc/nnrt.h

deps:
	@scripts/deps.sh

# --- the front end: flex and bison write into build/grammar/
$(B)/grammar/parser.c $(B)/grammar/parser.h: grammar/parser.y
	@mkdir -p $(@D)
	bison -Wall -Werror --defines=$(B)/grammar/parser.h -o $(B)/grammar/parser.c $<

$(B)/grammar/lexer.c $(B)/grammar/lexer.h: grammar/lexer.l
	@mkdir -p $(@D)
	flex --header-file=$(B)/grammar/lexer.h -o $(B)/grammar/lexer.c $<

# Generated scanners and parsers are not -pedantic clean; they get plain warnings.
$(B)/grammar/%.o: $(B)/grammar/%.c $(B)/grammar/parser.h $(B)/grammar/lexer.h compiler/nnc.h
	$(CC) $(CPPFLAGS) $(CFLAGS) -std=c11 -Wall -Wno-unused-function -Icompiler -I$(B)/grammar -c -o $@ $<

# runtime/*.h: the deploy emitter reads checkpoints through runtime/checkpoint.h
$(B)/compiler/%.o: compiler/%.c $(wildcard compiler/*.h) $(wildcard runtime/*.h) $(B)/grammar/parser.h $(B)/grammar/lexer.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Icompiler -I$(B)/grammar -c -o $@ $<

$(B)/compiler/main.o $(B)/compiler/emit.o $(B)/runtime/train.o: VERSION

# The deploy emitter reads checkpoints with the trainer's reader, and their
# data meta with its decoder: those five files of the runtime, and zlib for
# the CRC, are all nnc links of it.
NNC_RUNTIME_OBJ := $(B)/runtime/checkpoint.o $(B)/runtime/atomic.o $(B)/runtime/fail.o \
                   $(B)/runtime/optim_state.o $(B)/runtime/data_meta.o

$(B)/nnc: $(COMPILER_OBJ) $(NNC_RUNTIME_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lz -lm

# --- the runtime
$(B)/runtime/%.o: runtime/%.c $(wildcard runtime/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) -Iruntime -c -o $@ $<

# Which of the two a build directory's library holds: switching MPI= rebuilds
# the library and relinks the trainers
BUILD_MODE := $(if $(filter 1,$(MPI)),mpi,local)
$(B)/.mode: FORCE
	@mkdir -p $(@D)
	@[ "$$(cat $@ 2>/dev/null)" = $(BUILD_MODE) ] || echo $(BUILD_MODE) >$@
.PHONY: FORCE

$(B)/libnnrt.a: $(RUNTIME_OBJ) $(B)/.mode
	rm -f $@
	ar rcs $@ $(RUNTIME_OBJ)

$(INC)/nnc/nnrt.h: runtime/nnrt.h
	@mkdir -p $(@D)
	cp $< $@

# --- a model: models/NAME.model -> build/NAME.c -> build/NAME (its trainer)
$(B)/%.c $(B)/%.h: models/%.model $(B)/nnc
	$(B)/nnc $< -o $(B)/$*.c

$(B)/%: $(B)/%.c $(B)/libnnrt.a $(INC)/nnc/nnrt.h
	$(CC) $(CPPFLAGS) $(CFLAGS) $(STRICT) -I$(INC) -o $@ $< $(B)/libnnrt.a $(LDLIBS_RT)

# --- models the tests train: tests/e2e/NAME.model -> build/e2e/NAME.c (linked as above)
$(B)/e2e/%.c $(B)/e2e/%.h: tests/e2e/%.model $(B)/nnc
	@mkdir -p $(@D)
	$(B)/nnc $< -o $(B)/e2e/$*.c

MODELS   := $(patsubst models/%.model,$(B)/%,$(wildcard models/*.model))
E2E      := $(patsubst tests/e2e/%.model,$(B)/e2e/%,$(wildcard tests/e2e/*.model))

# --- the main job: train the seed network on Fashion-MNIST
SEED_MODEL := fashion_mlp
run: deps
	@$(MAKE) --no-print-directory $(B)/$(SEED_MODEL)
	$(B)/$(SEED_MODEL) train --save $(B)/$(SEED_MODEL).ckpt

# --- tests: one prove run over tests/*.t (TAP); C unit tests use cmocka
TEST_SRC := $(wildcard tests/unit/*.c)
TEST_BIN := $(TEST_SRC:tests/unit/%.c=$(B)/tests/%)

$(B)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(B)/libnnrt.a runtime/nnrt.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) -Iruntime -o $@ $< $(B)/libnnrt.a $(LDLIBS_RT) -lcmocka

TESTS = $(wildcard tests/*.t)
test: deps
	@$(MAKE) --no-print-directory all $(TEST_BIN) $(MODELS) $(E2E)
	CFLAGS='$(CFLAGS)' OPENBLAS_NUM_THREADS=1 prove -f $(PROVE_FLAGS) $(TESTS)

# --- the whole suite again under AddressSanitizer and UBSan, in a copy of
# the tree under build/san (tracked and new files, not build/): GCC's
# -fsanitize=undefined leaves float-cast-overflow out, so it is named too.
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
# Not 45-cortexm.t: its firmware runs under QEMU and its host reference is
# built with the device's flags, not CFLAGS, so there it would only repeat
SAN_TESTS = $(filter-out tests/45-cortexm.t,$(TESTS))
# Two test files at a time: each is single-threaded under the sanitizers'
# slowdown, and the suite's files share nothing but the built tree
SAN_PROVE_FLAGS = -j2
sanitize: deps
	rm -rf $(B)/san && mkdir -p $(B)/san
	git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t $(B)/san
	$(MAKE) -C $(B)/san test CFLAGS='$(SAN_CFLAGS)' TESTS='$(SAN_TESTS)' PROVE_FLAGS='$(SAN_PROVE_FLAGS)'

# --- the dropout study (README): every variant, several seeds, a table and
# plots in build/study/. STUDY_SEEDS, STUDY_EPOCHS, STUDY_CNN=1, STUDY_THREADS:
# see scripts/study.sh.
STUDY_MODELS := fashion_mlp_no_dropout fashion_mlp fashion_mlp_dropout_before \
                fashion_mlp_dropout_both keras_mnist_cnn_no_dropout keras_mnist_cnn
# STUDY_PROCS=N spreads the runs over N processes (mpirun; see study.sh).
MPIRUN_LOCAL := mpirun --allow-run-as-root --oversubscribe --bind-to none
study: deps
	@$(MAKE) --no-print-directory $(addprefix $(B)/,$(STUDY_MODELS))
	$(if $(STUDY_PROCS),$(MPIRUN_LOCAL) -np $(STUDY_PROCS) )scripts/study.sh

# --- the benchmark against PyTorch and the BLAS roofline (bench/run.py): one
# table on stdout, also in build/bench/table.md and build/bench/results.jsonl.
# Run it on an otherwise idle machine: the comparisons are side by side.
$(B)/bench/gemm: bench/gemm.c $(B)/libnnrt.a runtime/nnrt.h
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) $(BLAS_CFLAGS) -Iruntime -o $@ $< $(B)/libnnrt.a $(LDLIBS_RT)

bench: deps
	@NNC_DEPS=python3-torch scripts/deps.sh
	@$(MAKE) --no-print-directory all $(B)/fashion_mlp $(B)/keras_mnist_cnn $(B)/fashion_resnet $(B)/bench/gemm
	@$(MAKE) --no-print-directory MPI=1 B=$(B)/mpi $(B)/mpi/fashion_mlp $(B)/mpi/keras_mnist_cnn
	BENCH_BUILD=$(B) BENCH_MPI_BUILD=$(B)/mpi BENCH_CC="$(CC) $(CPPFLAGS) $(CFLAGS) $(STRICT) -I$(INC)" \
	    BENCH_LIBS="$(LDLIBS_RT)" /usr/bin/python3 bench/run.py

# --- the deployed C's inferences per second on the host against the
# trainer's (scripts/bench-deploy.sh; docs/deploy.md quotes it)
bench-deploy: deps
	@$(MAKE) --no-print-directory all $(B)/fashion_mlp
	BENCH_BUILD=$(B) scripts/bench-deploy.sh

# --- the tabular data sets of issue 11 (docs/tabular.md): nnc against the
# PyTorch reference, 3 seeds each, table in build/tabular/results/table.md
tabular: deps
	@NNC_DEPS=python3-torch scripts/deps.sh
	@$(MAKE) --no-print-directory all $(B)/penguins $(B)/breast_cancer $(B)/diabetes
	scripts/tabular-compare.sh

# --- fuzzing (libFuzzer, clang): tests/fuzz/NAME.c defines LLVMFuzzerTestOneInput
# and tests/fuzz/NAME/ holds its seed corpus and every crash found so far
# (regressions). Each harness links the compiler (less its main) and the
# runtime, built again with clang and ASan/UBSan. `make fuzz` first replays
# every corpus input, then fuzzes each harness for FUZZ_SECONDS, in a copy of
# its corpus under build/fuzz/; a crash leaves its input there as crash-*.
# Last, the C of the frontend corpus's accepted inputs must compile.
FUZZ_CC      := clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=all
FUZZ_CFLAGS  := -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_SRC     := $(wildcard tests/fuzz/*.c)
FUZZ_BIN     := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_LIB_SRC := $(filter-out compiler/main.c,$(COMPILER_SRC)) $(RUNTIME_SRC)
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(B)/fuzz/obj/%.o) $(B)/fuzz/obj/grammar/parser.o \
                $(B)/fuzz/obj/grammar/lexer.o

$(B)/fuzz/obj/grammar/%.o: $(B)/grammar/%.c $(B)/grammar/parser.h $(B)/grammar/lexer.h compiler/nnc.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -std=c11 -Wall -Wno-unused-function -Icompiler -I$(B)/grammar -c -o $@ $<

$(B)/fuzz/obj/%.o: %.c $(wildcard compiler/*.h runtime/*.h) $(B)/grammar/parser.h $(B)/grammar/lexer.h
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -std=c11 $(BLAS_CFLAGS) -Icompiler -Iruntime -I$(B)/grammar -c -o $@ $<

$(B)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(CPPFLAGS) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer -std=c11 $(BLAS_CFLAGS) \
	    -Icompiler -Iruntime -I$(B)/grammar -o $@ $< $(FUZZ_LIB_OBJ) $(LDLIBS_RT)

fuzz: deps
	@NNC_DEPS="clang libclang-rt-14-dev" scripts/deps.sh
	@$(MAKE) --no-print-directory $(FUZZ_BIN)
	@set -e; for h in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
	    echo "fuzz: $$h: replaying tests/fuzz/$$h/"; \
	    $(B)/fuzz/$$h -runs=0 tests/fuzz/$$h/ 2>$(B)/fuzz/$$h.replay.log || \
	        { tail -n 30 $(B)/fuzz/$$h.replay.log; exit 1; }; \
	    rm -rf $(B)/fuzz/$$h.corpus; cp -r tests/fuzz/$$h $(B)/fuzz/$$h.corpus; \
	    echo "fuzz: $$h: $(FUZZ_SECONDS) s"; \
	    $(B)/fuzz/$$h -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=$(B)/fuzz/$$h. \
	        $(B)/fuzz/$$h.corpus 2>$(B)/fuzz/$$h.log || \
	        { tail -n 30 $(B)/fuzz/$$h.log; echo "fuzz: $$h failed: add the input to tests/fuzz/$$h/"; exit 1; }; \
	    grep -E '^Done [0-9]+ runs' $(B)/fuzz/$$h.log | sed "s/^/fuzz: $$h: /"; \
	done
	@$(MAKE) --no-print-directory $(B)/nnc $(INC)/nnc/nnrt.h
	tests/fuzz/compile-accepted.sh $(B)/fuzz/frontend.corpus

# This tree's trainers against revision BASE's, alternated in one run
# (scripts/bench-compare.sh): `make bench-compare BASE=REV [ROUNDS=3]`
bench-compare: deps
	scripts/bench-compare.sh

# Rewrites the golden files of tests/diag and tests/summary; review the diff.
golden: all
	tests/golden.sh --update

clean:
	rm -rf $(B)

# make install, make uninstall and what they need built
include mk/install.mk
