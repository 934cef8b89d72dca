//! A module's function symbols with their extents, for the addresses its DWARF says nothing
//! about (a system library without its debug files, a stripped binary).
//!
//! `addr2line`'s own symbol lookup gives an address the nearest symbol below it, however far:
//! a stripped libc's internal functions have no symbol, so their samples were named after
//! whichever exported function happened to precede them (`__xmknodat`, `f64xsubf128`). Here an
//! address no symbol's extent holds has no name, and the profile shows it as an address in its
//! module, which is what it is.
//!
//! The table keeps each function's extent and where its name lies in the mapped file: a debug
//! binary's 60,000 names would take 7 MB, and a profile needs a few dozen of them (those of
//! addresses DWARF says nothing about). A name is read when a lookup returns it.

use object::read::elf::{ElfFile, FileHeader, SectionHeader as _, Sym as _};
use object::{elf, Endianness, FileKind};

use crate::profiler::symbolize::mapped_file::{Bytes, MappedFile};

/// How many symbols a lookup examines at most, from the nearest below the address back.
const MAX_WALK_BACK: usize = 64;

/// Function symbols, by start address.
#[derive(Debug)]
pub(crate) struct SymbolTable {
    /// What the names are read from: the mapped file.
    strings: Bytes,
    /// `(start, end, name)`, sorted by start, one per start; `name` is where the function's
    /// NUL-terminated name starts in `strings`.
    functions: Vec<(u64, u64, usize)>,
}

impl SymbolTable {
    /// The function symbols of the ELF file `file` (its `.symtab` and `.dynsym`); `None` if it
    /// is not one. Only the headers and the symbol tables are read, and the names of symbols
    /// sharing an address.
    pub(crate) fn read(file: &MappedFile) -> Option<Self> {
        let bytes = file.bytes();
        let functions = match FileKind::parse(&**bytes).ok()? {
            FileKind::Elf32 => functions::<elf::FileHeader32<Endianness>>(bytes),
            FileKind::Elf64 => functions::<elf::FileHeader64<Endianness>>(bytes),
            _ => None,
        }?;
        Some(Self::new(bytes.clone(), functions))
    }

    fn new(strings: Bytes, mut functions: Vec<(u64, u64, usize)>) -> Self {
        functions.sort_unstable_by_key(|&(start, _, _)| start);
        // Aliases share a start (`write`, `__write`, `__libc_write`): the one kept is the name
        // callers use, the first without a leading underscore, else the shortest, with the
        // largest extent among them.
        let preference = |name: usize| {
            let name = name_at(&strings, name);
            (name.first() == Some(&b'_'), name.len(), name)
        };
        functions.dedup_by(|alias, kept| {
            let same_start = alias.0 == kept.0;
            if same_start {
                kept.1 = kept.1.max(alias.1);
                if preference(alias.2) < preference(kept.2) {
                    kept.2 = alias.2;
                }
            }
            same_start
        });
        functions.shrink_to_fit();
        Self { strings, functions }
    }

    /// The function whose extent holds `address` (a file address: the module's load bias
    /// taken off): of those that do, the one starting last, the innermost where one function's
    /// symbol lies inside another's (an entry point inside hand-written assembly), among the
    /// [`MAX_WALK_BACK`] nearest below it.
    pub(crate) fn find(&self, address: u64) -> Option<&str> {
        let below = self.functions.partition_point(|&(start, _, _)| start <= address);
        (0..below)
            .rev()
            // Nesting is shallow in real files; one symbol spanning thousands (a malformed
            // table) must not make every lookup walk back to it.
            .take(MAX_WALK_BACK)
            .find(|&index| address < self.functions[index].1)
            .and_then(|index| std::str::from_utf8(name_at(&self.strings, self.functions[index].2)).ok())
    }
}

/// Defined, sized, named function symbols of both symbol tables of the ELF file `bytes`, each
/// with where its name lies in `bytes`.
fn functions<Elf: FileHeader<Endian = Endianness>>(bytes: &Bytes) -> Option<Vec<(u64, u64, usize)>> {
    let file = ElfFile::<Elf>::parse(&**bytes).ok()?;
    let endian = file.endian();
    let mut functions = Vec::new();
    for table in [file.elf_symbol_table(), file.elf_dynamic_symbol_table()] {
        let Ok(strings) = file.elf_section_table().section(table.string_section()) else { continue };
        let Ok(strings) = usize::try_from(strings.sh_offset(endian).into()) else { continue };
        functions.extend(table.symbols().iter().filter_map(|symbol| {
            let function = matches!(symbol.st_type(), elf::STT_FUNC | elf::STT_GNU_IFUNC);
            let (start, size, name) = (symbol.st_value(endian).into(), symbol.st_size(endian).into(), symbol.st_name(endian));
            // Offset 0 of a string table is the empty name.
            if !function || !symbol.is_definition(endian) || size == 0 || name == 0 {
                return None;
            }
            // A malformed file's symbol may run past the address space: it covers nothing.
            Some((start, start.checked_add(size)?, strings.checked_add(usize::try_from(name).ok()?)?))
        }));
    }
    Some(functions)
}

/// The NUL-terminated name at `at` in `strings`.
fn name_at(strings: &[u8], at: usize) -> &[u8] {
    let tail = strings.get(at..).unwrap_or_default();
    &tail[..tail.iter().position(|&b| b == 0).unwrap_or(tail.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `functions`, their names in a string table of their own.
    fn table(functions: &[(u64, u64, &str)]) -> SymbolTable {
        let mut strings = vec![0];
        let functions = functions
            .iter()
            .map(|&(start, end, name)| {
                let at = strings.len();
                strings.extend_from_slice(name.as_bytes());
                strings.push(0);
                (start, end, at)
            })
            .collect();
        SymbolTable::new(Bytes::owned(strings), functions)
    }

    #[test]
    fn an_address_past_a_function_s_end_has_no_name() {
        let table = table(&[
            (0x2000, 0x2040, "later"),
            (0x1000, 0x1010, "__write"),
            (0x1000, 0x1010, "write"),
            (0x1000, 0x1010, "__libc_write"),
            (0x1800, 0x1900, "_start"),
        ]);
        assert_eq!(table.find(0x0fff), None);
        assert_eq!(table.find(0x1000), Some("write"));
        assert_eq!(table.find(0x100f), Some("write"));
        assert_eq!(table.find(0x1010), None, "between two functions: no one's");
        assert_eq!(table.find(0x17ff), None);
        assert_eq!(table.find(0x18ff), Some("_start"));
        assert_eq!(table.find(0x203f), Some("later"));
        assert_eq!(table.find(0x2040), None);
    }

    #[test]
    fn an_address_in_a_function_past_a_symbol_nested_in_it_is_the_outer_function_s() {
        let table = table(&[
            (0x1000, 0x1100, "outer"),
            (0x1020, 0x1030, "entry"),
            (0x1040, 0x1050, "other_entry"),
            (0x1200, 0x1210, "after"),
        ]);
        assert_eq!(table.find(0x1010), Some("outer"));
        assert_eq!(table.find(0x1025), Some("entry"));
        assert_eq!(table.find(0x1035), Some("outer"));
        assert_eq!(table.find(0x1045), Some("other_entry"));
        assert_eq!(table.find(0x10ff), Some("outer"));
        assert_eq!(table.find(0x1100), None);
        assert_eq!(table.find(0x1205), Some("after"));
    }

    #[test]
    fn aliases_keep_the_largest_extent_among_them() {
        let table = table(&[(0x1000, 0x1100, "__impl"), (0x1000, 0x1010, "api")]);
        assert_eq!(table.find(0x1050), Some("api"));
        assert_eq!(table.find(0x1100), None);
    }

    #[test]
    fn a_lookup_examines_a_bounded_number_of_symbols() {
        let outer = (0x1000, 0x10_0000, "outer");
        let inner = (1..=MAX_WALK_BACK as u64).map(|n| (0x1000 + n * 0x10, 0x1000 + n * 0x10 + 8, "inner"));
        let table = table(&std::iter::once(outer).chain(inner).collect::<Vec<_>>());
        // Within reach of `outer`, past the nearest symbols nested in it.
        assert_eq!(table.find(0x1000 + 2 * 0x10 + 9), Some("outer"));
        // `outer` is the 65th symbol back from here: too far to look.
        assert_eq!(table.find(0x1000 + MAX_WALK_BACK as u64 * 0x10 + 9), None);
    }

    #[test]
    fn libc_s_exported_functions_are_found_by_their_public_name() {
        let (modules, _) = crate::profiler::modules::loaded();
        let address = libc::getpid as *const () as u64;
        let libc = modules.iter().find(|m| m.text_in_memory().contains(&address)).expect("libc is loaded");
        let table = SymbolTable::read(&MappedFile::open(&libc.path).expect("libc")).expect("libc's symbols");
        assert_eq!(table.find(address + 1 - libc.bias), Some("getpid"));
    }
}
