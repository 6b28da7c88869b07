/* Redirects one imported function of one loaded library.
 *
 * A library calls what it imports through its GOT: a slot per symbol that
 * the dynamic linker fills.  Writing another address into the slot changes
 * where that library's calls go, and nobody else's (an exported symbol of
 * our own would take the program's calls too). */
#include "config.h"
#include "got.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sys.h"

struct find {
	uintptr_t base;
	const ElfW(Phdr) *phdr;
	int phnum;
};

static int find_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find *f = arg;

	(void)size;
	if (info->dlpi_addr != f->base)
		return 0;
	f->phdr = info->dlpi_phdr;
	f->phnum = info->dlpi_phnum;
	return 1;
}

/* A pointer held by the dynamic section: ld.so relocates those in place on
 * x86-64, other loaders may not. */
static uintptr_t dynptr(uintptr_t base, ElfW(Addr) p)
{
	return p < base ? base + p : p;
}

int retro_got_patch(const void *in_module, const char *sym, void *fn)
{
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	const ElfW(Rela) *rel[2] = { NULL, NULL };
	size_t relsz[2] = { 0, 0 };
	uintptr_t relro_lo = 0, relro_hi = 0;
	struct find f = { 0, NULL, 0 };
	Dl_info di;
	int done = 0;

	if (!dladdr(in_module, &di) || !di.dli_fbase)
		return -1;
	/* a shared object's dlpi_addr is its load bias, which for one linked
	 * at 0 (every library) is where dladdr says it begins */
	f.base = (uintptr_t)di.dli_fbase;
	if (!dl_iterate_phdr(find_cb, &f) || !f.phdr)
		return -1;
	for (int i = 0; i < f.phnum; i++) {
		if (f.phdr[i].p_type == PT_DYNAMIC)
			dyn = (const void *)(f.base + f.phdr[i].p_vaddr);
		else if (f.phdr[i].p_type == PT_GNU_RELRO) {
			relro_lo = f.base + f.phdr[i].p_vaddr;
			relro_hi = relro_lo + f.phdr[i].p_memsz;
		}
	}
	if (!dyn)
		return -1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB:
			symtab = (const void *)dynptr(f.base, dyn->d_un.d_ptr);
			break;
		case DT_STRTAB:
			strtab = (const void *)dynptr(f.base, dyn->d_un.d_ptr);
			break;
		case DT_JMPREL:
			rel[0] = (const void *)dynptr(f.base, dyn->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			relsz[0] = dyn->d_un.d_val;
			break;
		case DT_RELA:
			rel[1] = (const void *)dynptr(f.base, dyn->d_un.d_ptr);
			break;
		case DT_RELASZ:
			relsz[1] = dyn->d_un.d_val;
			break;
		default:
			break;
		}
	}
	if (!symtab || !strtab)
		return -1;
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; rel[k] && i < relsz[k] / sizeof *rel[k]; i++) {
			const ElfW(Rela) *r = &rel[k][i];
			unsigned type = ELF64_R_TYPE(r->r_info);
			const ElfW(Sym) *s = &symtab[ELF64_R_SYM(r->r_info)];
			uintptr_t slot = f.base + r->r_offset;
			uintptr_t pg = slot & ~(uintptr_t)4095;
			int ro;

			if ((type != R_X86_64_JUMP_SLOT &&
			     type != R_X86_64_GLOB_DAT) ||
			    strcmp(strtab + s->st_name, sym) != 0)
				continue;
			/* read-only after relocation (RELRO): opened for the
			 * one write */
			ro = slot >= relro_lo && slot < relro_hi;
			if (ro && retro_sys3(SYS_mprotect, (long)pg, 4096,
					     PROT_READ | PROT_WRITE) < 0)
				return -1;
			__atomic_store_n((void **)slot, fn, __ATOMIC_RELEASE);
			if (ro)
				retro_sys3(SYS_mprotect, (long)pg, 4096,
					   PROT_READ);
			done = 1;
		}
	}
	return done ? 0 : -1;
}
