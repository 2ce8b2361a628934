/* Reading ELF symbol tables, sections and relocations, with every offset bounds-checked. */
#define _GNU_SOURCE

#include "agent_internal.h"

#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct elf_file {
  const uint8_t *bytes;
  size_t length;
  const Elf64_Shdr *sections;
  size_t section_count;
} elf_file;

static bool fits(const elf_file *file, uint64_t offset, uint64_t size) {
  return offset <= file->length && size <= file->length - offset;
}

static bool elf_open(elf_file *file, const uint8_t *bytes, size_t length, uint16_t type,
                     char *error) {
  *file = (elf_file){bytes, length, NULL, 0};
  const Elf64_Ehdr *header = (const Elf64_Ehdr *)bytes;
  if (length < sizeof *header || memcmp(header->e_ident, ELFMAG, SELFMAG) != 0 ||
      header->e_ident[EI_CLASS] != ELFCLASS64 || header->e_ident[EI_DATA] != ELFDATA2LSB) {
    agent_error(error, "not a 64-bit little-endian ELF file");
    return false;
  }
  if (header->e_machine != EM_X86_64 || header->e_type != type) {
    agent_error(error, "not an x86-64 ELF %s",
                type == ET_REL ? "relocatable object" : "executable");
    return false;
  }
  if (header->e_shentsize != sizeof(Elf64_Shdr) || header->e_shoff % 8 != 0 ||
      !fits(file, header->e_shoff, (uint64_t)header->e_shnum * sizeof(Elf64_Shdr))) {
    agent_error(error, "malformed ELF section table");
    return false;
  }
  file->sections = (const Elf64_Shdr *)(bytes + header->e_shoff);
  file->section_count = header->e_shnum;
  return true;
}

/* A section's bytes, checked to lie in the file and to hold whole `entry_size` entries,
 * aligned for reading in place (the file itself is read from an aligned address). */
static const uint8_t *section_bytes(const elf_file *file, size_t index, size_t entry_size,
                                    size_t *count) {
  const Elf64_Shdr *section = &file->sections[index];
  if (section->sh_type == SHT_NOBITS || !fits(file, section->sh_offset, section->sh_size) ||
      section->sh_size % entry_size != 0 ||
      (entry_size > 1 && section->sh_offset % _Alignof(Elf64_Sym) != 0)) {
    return NULL;
  }
  *count = section->sh_size / entry_size;
  return file->bytes + section->sh_offset;
}

/* The symbol table and its string table; false when there is none or it is malformed. */
static bool find_symbols(const elf_file *file, const Elf64_Sym **symbols, size_t *count,
                         const char **strings, size_t *strings_size) {
  for (size_t i = 0; i < file->section_count; i++) {
    if (file->sections[i].sh_type != SHT_SYMTAB) {
      continue;
    }
    size_t link = file->sections[i].sh_link;
    *symbols = (const Elf64_Sym *)section_bytes(file, i, sizeof(Elf64_Sym), count);
    if (*symbols == NULL || link >= file->section_count) {
      return false;
    }
    *strings = (const char *)section_bytes(file, link, 1, strings_size);
    return *strings != NULL && *strings_size > 0 && (*strings)[*strings_size - 1] == '\0';
  }
  return false;
}

/* ---- The executable's symbols ------------------------------------------------------ */

static int find_load_bias(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  /* The first object reported is the executable itself. */
  *(uintptr_t *)data = info->dlpi_addr;
  return 1;
}

static int compare_ranges(const void *left, const void *right) {
  const agent_range *a = left;
  const agent_range *b = right;
  return a->start < b->start ? -1 : a->start > b->start ? 1 : 0;
}

/* FNV-1a: the names are short and the table is built once. */
static uint32_t name_hash(const char *name) {
  uint32_t hash = 2166136261u;
  for (; *name != '\0'; name++) {
    hash = (hash ^ (uint8_t)*name) * 16777619u;
  }
  return hash;
}

/* What a patch can link against: a defined global or weak symbol with an address (not
 * thread-local, not an indirect function, whose address is its resolver's). */
static bool is_linkable(const Elf64_Sym *symbol) {
  unsigned binding = ELF64_ST_BIND(symbol->st_info);
  unsigned type = ELF64_ST_TYPE(symbol->st_info);
  return (binding == STB_GLOBAL || binding == STB_WEAK) && symbol->st_shndx != SHN_UNDEF &&
         symbol->st_shndx < SHN_LORESERVE && symbol->st_name != 0 &&
         (type == STT_NOTYPE || type == STT_OBJECT || type == STT_FUNC);
}

static bool index_symbols(const Elf64_Sym *symbols, size_t count, const char *strings,
                          size_t strings_size, uintptr_t bias, symbol_index *index) {
  size_t linkable = 0;
  for (size_t i = 0; i < count; i++) {
    linkable += is_linkable(&symbols[i]) && symbols[i].st_name < strings_size;
  }
  /* At most half full, so probes stay short. */
  size_t slots = 16;
  while (slots < 2 * linkable) {
    slots *= 2;
  }
  index->names = calloc(slots, sizeof *index->names);
  index->addresses = calloc(slots, sizeof *index->addresses);
  if (index->names == NULL || index->addresses == NULL) {
    return false;
  }
  index->mask = slots - 1;
  index->strings = strings;
  for (size_t i = 0; i < count; i++) {
    const Elf64_Sym *symbol = &symbols[i];
    if (!is_linkable(symbol) || symbol->st_name >= strings_size) {
      continue;
    }
    const char *name = strings + symbol->st_name;
    size_t slot = name_hash(name) & index->mask;
    while (index->names[slot] != 0 && strcmp(strings + index->names[slot], name) != 0) {
      slot = (slot + 1) & index->mask;
    }
    /* The first definition wins, as the dynamic linker's would. */
    if (index->names[slot] == 0) {
      index->names[slot] = symbol->st_name;
      index->addresses[slot] = bias + symbol->st_value;
    }
  }
  return true;
}

static bool collect_functions(const Elf64_Sym *symbols, size_t count, uintptr_t bias,
                              function_table *table) {
  agent_range *ranges = malloc((count == 0 ? 1 : count) * sizeof *ranges);
  if (ranges == NULL) {
    return false;
  }
  size_t used = 0;
  for (size_t i = 0; i < count; i++) {
    const Elf64_Sym *symbol = &symbols[i];
    if (ELF64_ST_TYPE(symbol->st_info) == STT_FUNC && symbol->st_shndx != SHN_UNDEF &&
        symbol->st_size > 0) {
      ranges[used++] = (agent_range){bias + symbol->st_value, bias + symbol->st_value +
                                                                  symbol->st_size};
    }
  }
  qsort(ranges, used, sizeof *ranges, compare_ranges);
  table->ranges = ranges;
  table->count = used;
  return true;
}

bool executable_read(function_table *functions, symbol_index *index, char *error) {
  *functions = (function_table){NULL, 0};
  *index = (symbol_index){NULL, NULL, NULL, 0};
  int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  struct stat status;
  if (fd < 0 || fstat(fd, &status) != 0) {
    agent_error(error, "cannot open /proc/self/exe");
    if (fd >= 0) {
      close(fd);
    }
    return false;
  }
  size_t length = (size_t)status.st_size;
  /* Mapped for good: the index's names point into it. The file cannot change under the
   * mapping (a running executable cannot be opened for writing), and its pages are the
   * page cache's. */
  void *mapped = length == 0 ? MAP_FAILED : mmap(NULL, length, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (mapped == MAP_FAILED) {
    agent_error(error, "cannot map /proc/self/exe");
    return false;
  }
  uintptr_t bias = 0;
  dl_iterate_phdr(find_load_bias, &bias);
  elf_file file;
  const Elf64_Sym *symbols;
  const char *strings;
  size_t count, strings_size;
  if (!elf_open(&file, mapped, length, ET_DYN, error) &&
      !elf_open(&file, mapped, length, ET_EXEC, error)) {
    munmap(mapped, length);
    return false;
  }
  if (!find_symbols(&file, &symbols, &count, &strings, &strings_size)) {
    agent_error(error, "the executable has no symbol table");
    munmap(mapped, length);
    return false;
  }
  if (!collect_functions(symbols, count, bias, functions) ||
      !index_symbols(symbols, count, strings, strings_size, bias, index)) {
    free(functions->ranges);
    free(index->names);
    free(index->addresses);
    *functions = (function_table){NULL, 0};
    *index = (symbol_index){NULL, NULL, NULL, 0};
    munmap(mapped, length);
    agent_error(error, "out of memory");
    return false;
  }
  return true;
}

bool symbol_index_find(const symbol_index *index, const char *name, uintptr_t *address) {
  if (index->names == NULL) {
    return false;
  }
  for (size_t slot = name_hash(name) & index->mask; index->names[slot] != 0;
       slot = (slot + 1) & index->mask) {
    if (strcmp(index->strings + index->names[slot], name) == 0) {
      *address = index->addresses[slot];
      return true;
    }
  }
  return false;
}

const agent_range *function_table_find(const function_table *table, uintptr_t address) {
  /* The last range starting at or before the address. */
  size_t low = 0;
  size_t high = table->count;
  while (low < high) {
    size_t middle = low + (high - low) / 2;
    if (table->ranges[middle].start <= address) {
      low = middle + 1;
    } else {
      high = middle;
    }
  }
  for (size_t i = low; i > 0; i--) {
    const agent_range *range = &table->ranges[i - 1];
    if (address < range->end) {
      return range;
    }
    /* Functions do not nest: an earlier start can only contain the address if it is an
     * alias with the same start. */
    if (range->start != table->ranges[low - 1].start) {
      break;
    }
  }
  return NULL;
}

/* ---- Relocatable objects ----------------------------------------------------------- */

static bool read_relocations(const elf_file *file, object_info *info, char *error) {
  size_t total = 0;
  for (size_t i = 0; i < file->section_count; i++) {
    if (file->sections[i].sh_type == SHT_RELA) {
      total += file->sections[i].sh_size / sizeof(Elf64_Rela);
    }
  }
  info->relocations = calloc(total == 0 ? 1 : total, sizeof *info->relocations);
  if (info->relocations == NULL) {
    agent_error(error, "out of memory");
    return false;
  }
  for (size_t i = 0; i < file->section_count; i++) {
    const Elf64_Shdr *section = &file->sections[i];
    if (section->sh_type != SHT_RELA) {
      continue;
    }
    size_t count;
    const Elf64_Rela *entries = (const Elf64_Rela *)section_bytes(file, i, sizeof(Elf64_Rela),
                                                                  &count);
    if (entries == NULL || section->sh_info >= file->section_count) {
      agent_error(error, "malformed relocation section");
      return false;
    }
    for (size_t j = 0; j < count; j++) {
      uint32_t symbol = (uint32_t)ELF64_R_SYM(entries[j].r_info);
      if (symbol >= info->symbol_count) {
        agent_error(error, "relocation against a symbol that does not exist");
        return false;
      }
      info->relocations[info->relocation_count++] = (object_relocation){
          .target_section = section->sh_info,
          .offset = entries[j].r_offset,
          .type = (uint32_t)ELF64_R_TYPE(entries[j].r_info),
          .symbol = symbol,
          .addend = entries[j].r_addend,
      };
    }
  }
  return true;
}

bool object_info_read(const uint8_t *bytes, size_t length, object_info *info, char *error) {
  *info = (object_info){0};
  /* A copy at an address malloc aligns, so the ELF structures can be read in place. */
  info->bytes = malloc(length == 0 ? 1 : length);
  if (info->bytes == NULL) {
    agent_error(error, "out of memory");
    return false;
  }
  if (length > 0) {
    memcpy(info->bytes, bytes, length);
  }
  elf_file file;
  if (!elf_open(&file, info->bytes, length, ET_REL, error)) {
    object_info_free(info);
    return false;
  }
  info->section_count = file.section_count;
  info->sections = calloc(file.section_count == 0 ? 1 : file.section_count,
                          sizeof *info->sections);
  if (info->sections == NULL) {
    agent_error(error, "out of memory");
    object_info_free(info);
    return false;
  }
  for (size_t i = 0; i < file.section_count; i++) {
    const Elf64_Shdr *section = &file.sections[i];
    info->sections[i] = (object_section){
        .size = section->sh_size,
        .allocated = (section->sh_flags & SHF_ALLOC) != 0,
    };
  }
  const Elf64_Sym *symbols;
  const char *strings;
  size_t count, strings_size;
  if (!find_symbols(&file, &symbols, &count, &strings, &strings_size)) {
    agent_error(error, "the object has no valid symbol table");
    object_info_free(info);
    return false;
  }
  info->symbols = calloc(count == 0 ? 1 : count, sizeof *info->symbols);
  if (info->symbols == NULL) {
    agent_error(error, "out of memory");
    object_info_free(info);
    return false;
  }
  info->symbol_count = count;
  for (size_t i = 0; i < count; i++) {
    const Elf64_Sym *symbol = &symbols[i];
    bool in_section = symbol->st_shndx != SHN_UNDEF && symbol->st_shndx < SHN_LORESERVE &&
                      symbol->st_shndx < file.section_count;
    info->symbols[i] = (object_symbol){
        /* The string table ends with a NUL, so any in-bounds name is terminated. */
        .name = symbol->st_name < strings_size ? strings + symbol->st_name : "",
        .value = symbol->st_value,
        .size = symbol->st_size,
        .section = in_section ? symbol->st_shndx : 0,
        .is_global = ELF64_ST_BIND(symbol->st_info) == STB_GLOBAL,
    };
  }
  if (!read_relocations(&file, info, error)) {
    object_info_free(info);
    return false;
  }
  return true;
}

const object_symbol *object_info_find(const object_info *info, const char *name) {
  for (size_t i = 1; i < info->symbol_count; i++) {
    const object_symbol *symbol = &info->symbols[i];
    if (symbol->section != 0 && strcmp(symbol->name, name) == 0) {
      return symbol;
    }
  }
  return NULL;
}

void object_info_free(object_info *info) {
  free(info->bytes);
  free(info->sections);
  free(info->symbols);
  free(info->relocations);
  *info = (object_info){0};
}
