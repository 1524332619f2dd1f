# install.mk (included by the Makefile): make install, make uninstall, and
# the files they need built: nnrt.pc and the man pages, which name the
# version and the install directories.
#
# GNU-style directories, each overridable: `make install PREFIX=/usr
# LIBDIR=/usr/lib/x86_64-linux-gnu DESTDIR=stage` (debian/rules does that).
# DESTDIR is a staging root prepended to every path at install time only;
# nothing built refers to it.

PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
DATADIR      ?= $(PREFIX)/share
MANDIR       ?= $(DATADIR)/man
DOCDIR       ?= $(DATADIR)/doc/nnc
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
BASHCOMPDIR  ?= $(DATADIR)/bash-completion/completions
VIMDIR       ?= $(DATADIR)/vim/vimfiles

.PHONY: install uninstall install-test FORCE

# The directories as last built, rewritten only when they change, so that
# the files baking them in are rebuilt exactly then.
INSTALL_DIRS := $(PREFIX) $(BINDIR) $(LIBDIR) $(INCLUDEDIR) $(DATADIR) $(DOCDIR) \
                $(PKGCONFIGDIR) $(BASHCOMPDIR)
$(B)/install-dirs: FORCE
	@mkdir -p $(@D)
	@echo '$(INSTALL_DIRS)' | cmp -s - $@ || echo '$(INSTALL_DIRS)' >$@

# nnrt.pc finds the installation from its own place (${pcfiledir}), so a
# tree installed under DESTDIR, or moved, still gives the right flags.
rel = $(shell realpath -m --relative-to='$(1)' '$(2)')
$(B)/nnrt.pc: runtime/nnrt.pc.in VERSION $(B)/install-dirs
	sed -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@PREFIX@|$${pcfiledir}/$(call rel,$(PKGCONFIGDIR),$(PREFIX))|' \
	    -e 's|@LIBDIR@|$${prefix}/$(call rel,$(PREFIX),$(LIBDIR))|' \
	    -e 's|@INCLUDEDIR@|$${prefix}/$(call rel,$(PREFIX),$(INCLUDEDIR))|' $< >$@

# nnc --build looks for its own installation's nnrt.pc this way from BINDIR.
PC_FROM_BIN := $(call rel,$(BINDIR),$(PKGCONFIGDIR))
CPPFLAGS += -DNNC_PC_FROM_BIN='"$(PC_FROM_BIN)"'
$(B)/compiler/build.o: $(B)/install-dirs

MAN_PAGES := $(B)/man/nnc.1 $(B)/man/nnc-trainer.1 $(B)/man/nnc-model.5
$(B)/man/%: docs/man/% VERSION $(B)/install-dirs
	@mkdir -p $(@D)
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' \
	    -e 's|@LIBDIR@|$(LIBDIR)|g' -e 's|@PKGCONFIGDIR@|$(PKGCONFIGDIR)|g' \
	    -e 's|@DATADIR@|$(DATADIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
	    -e 's|@BASHCOMPDIR@|$(BASHCOMPDIR)|g' $< >$@

all: $(B)/nnrt.pc $(MAN_PAGES)

DOCS := README.md docs/language.md docs/trainer.md $(wildcard docs/*.png)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/nnc \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(DATADIR)/nnc/models $(DESTDIR)$(DOCDIR)/docs \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(VIMDIR)/syntax $(DESTDIR)$(VIMDIR)/ftdetect
	install -m 755 $(B)/nnc $(DESTDIR)$(BINDIR)/nnc
	install -m 644 $(B)/libnnrt.a $(DESTDIR)$(LIBDIR)/libnnrt.a
	install -m 644 runtime/nnrt.h $(DESTDIR)$(INCLUDEDIR)/nnc/nnrt.h
	install -m 644 $(B)/nnrt.pc $(DESTDIR)$(PKGCONFIGDIR)/nnrt.pc
	install -m 644 $(filter %.1,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man1
	install -m 644 $(filter %.5,$(MAN_PAGES)) $(DESTDIR)$(MANDIR)/man5
	install -m 644 models/*.model $(DESTDIR)$(DATADIR)/nnc/models
	install -m 644 README.md $(DESTDIR)$(DOCDIR)
	install -m 644 $(filter docs/%,$(DOCS)) $(DESTDIR)$(DOCDIR)/docs
	install -m 644 editor/bash-completion/nnc editor/bash-completion/nnc-trainer \
	    $(DESTDIR)$(BASHCOMPDIR)
	install -m 644 editor/vim/syntax/nnc.vim $(DESTDIR)$(VIMDIR)/syntax/nnc.vim
	install -m 644 editor/vim/ftdetect/nnc.vim $(DESTDIR)$(VIMDIR)/ftdetect/nnc.vim

# Removes what install wrote, file by file (DOCDIR may be overridden to a
# shared directory), then the directories only nnc uses, once empty.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/nnc $(DESTDIR)$(LIBDIR)/libnnrt.a \
	    $(DESTDIR)$(PKGCONFIGDIR)/nnrt.pc \
	    $(DESTDIR)$(MANDIR)/man1/nnc.1 $(DESTDIR)$(MANDIR)/man1/nnc-trainer.1 \
	    $(DESTDIR)$(MANDIR)/man5/nnc-model.5 \
	    $(DESTDIR)$(BASHCOMPDIR)/nnc $(DESTDIR)$(BASHCOMPDIR)/nnc-trainer \
	    $(DESTDIR)$(VIMDIR)/syntax/nnc.vim $(DESTDIR)$(VIMDIR)/ftdetect/nnc.vim
	rm -f $(DESTDIR)$(INCLUDEDIR)/nnc/nnrt.h $(addprefix $(DESTDIR)$(DATADIR)/nnc/,$(wildcard models/*.model)) \
	    $(DESTDIR)$(DOCDIR)/README.md $(addprefix $(DESTDIR)$(DOCDIR)/,$(filter docs/%,$(DOCS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/nnc $(DESTDIR)$(DATADIR)/nnc/models $(DESTDIR)$(DATADIR)/nnc \
	    $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR) 2>/dev/null

# The installation as users get it (tests/install.sh): a staged make install
# used from outside the checkout, then the .deb built, linted, installed,
# used and removed. It needs the Debian packaging tools besides make test's.
INSTALL_TEST_DEPS := debhelper dpkg-dev lintian fakeroot groff-base man-db bash-completion
install-test: deps
	@NNC_DEPS="$(INSTALL_TEST_DEPS)" scripts/deps.sh
	@$(MAKE) --no-print-directory all
	tests/install.sh
