//! Addresses to source: demangled function names, inlined frames, files and lines, with
//! `addr2line` over each module's DWARF read one compilation unit at a time (see [`dwarf`]),
//! falling back to its symbol table (see [`symbol_table`]).
//!
//! Runs on the collector thread only. Each module's file is mapped once for as long as the
//! module stays loaded, and the pages a lookup reads are unmapped after it (see
//! [`mapped_file`]). What is kept is bounded: the units parsed, by the size of their DWARF
//! ([`MAX_PARSED_DWARF`]), the least recently used given up first; and what each address
//! resolved to, cached across windows ([`MAX_CACHED`] addresses, until the module list
//! changes).

mod dwarf;
pub(crate) mod symbol_table;
pub(super) mod mapped_file;
mod unit_cache;

use std::cell::OnceCell;
use std::collections::HashMap;
use std::rc::Rc;

use self::dwarf::Dwarf;
use self::mapped_file::{MappedFile, Reader};
use self::unit_cache::UnitCache;
use super::modules::Module;
use self::symbol_table::SymbolTable;

/// Addresses remembered at most before the cache starts over: each takes about 150 bytes, and
/// the names they share a few hundred each.
const MAX_CACHED: usize = 32_768;

/// `.debug_info` bytes of the units kept parsed, at most: their parsed form (the unit copied,
/// its line table and functions) takes about 2.5 times as much, and parsing one of the largest
/// takes a few MB more for a moment. A debug build's unit is 30 KB to 800 KB. Each unit given up
/// is parsed again the next time an address falls in it; a window's new addresses are resolved
/// in address order ([`Symbolizer::resolve_in_address_order`]), so within a window each unit is
/// parsed once.
const MAX_PARSED_DWARF: usize = 3 << 20;

/// One function in the inline chain at an address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Frame {
    /// Demangled, without the hash suffix.
    pub function: Rc<str>,
    pub file: Option<Rc<str>>,
    pub line: u32,
}

/// What one address resolves to.
#[derive(Debug)]
pub(crate) struct Resolved {
    /// Index of the module in [`Symbolizer::modules`], if any holds the address.
    pub module: Option<usize>,
    /// Innermost (inlined) function first; empty when nothing is known.
    pub frames: Vec<Frame>,
}

/// A context over one unit, and the units it refers to if it had to be built with them.
struct UnitContext {
    context: addr2line::Context<Reader>,
    with_references: bool,
}

/// A frame before its strings are interned: function, file, line.
type RawFrame = (String, Option<String>, u32);

/// A module's file, and what is read from it, each part the first time it is needed.
struct ModuleFile {
    file: MappedFile,
    /// `None` without DWARF.
    dwarf: Option<Dwarf>,
    /// Read the first time the DWARF has nothing for an address.
    symbols: OnceCell<Option<SymbolTable>>,
}

impl ModuleFile {
    /// `None` for a module without a file (the vDSO) or one that cannot be read.
    fn open(module: &Module) -> Option<Self> {
        let file = module.has_file.then(|| MappedFile::open(&module.path).ok()).flatten()?;
        let dwarf = Dwarf::new(&file);
        Some(Self { file, dwarf, symbols: OnceCell::new() })
    }
}

/// Resolves and caches.
pub(crate) struct Symbolizer {
    modules: Vec<Module>,
    /// By module index.
    files: HashMap<usize, Option<ModuleFile>>,
    /// Keyed by module index and unit.
    units: UnitCache<UnitContext>,
    cache: HashMap<u64, Rc<Resolved>>,
    strings: HashMap<Box<str>, Rc<str>>,
}

impl std::fmt::Debug for Symbolizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Symbolizer")
            .field("modules", &self.modules.len())
            .field("cached", &self.cache.len())
            .field("parsed_units", &self.units.len())
            .field("parsed_dwarf", &self.units.weight())
            .finish()
    }
}

impl Symbolizer {
    pub(crate) fn new(modules: Vec<Module>) -> Self {
        Self::with_max_parsed(modules, MAX_PARSED_DWARF)
    }

    fn with_max_parsed(modules: Vec<Module>, max_parsed_dwarf: usize) -> Self {
        Self {
            modules,
            files: HashMap::new(),
            units: UnitCache::new(max_parsed_dwarf),
            cache: HashMap::new(),
            strings: HashMap::new(),
        }
    }

    /// The modules addresses are resolved against.
    pub(crate) fn modules(&self) -> &[Module] {
        &self.modules
    }

    /// Replaces the module list (libraries were loaded or unloaded). The files of the modules
    /// still loaded where they were are kept, with their unit index and symbol table; what
    /// each address resolves to is looked up again, and units parsed again, since the modules'
    /// indices changed.
    ///
    /// A module is the same one only if its build id is known and equal, with its path and
    /// where it was mapped: a library unloaded and loaded again, rebuilt in between, often
    /// lands at the same address. A file that could not be opened is tried again.
    pub(crate) fn set_modules(&mut self, modules: Vec<Module>) {
        let identity = |module: &Module| {
            let build_id = module.build_id.clone()?;
            Some((build_id, module.path.clone(), module.bias, module.text.clone(), module.text_file_offset))
        };
        let mut opened: HashMap<_, _> = (self.files.drain())
            .filter_map(|(index, file)| Some((identity(&self.modules[index])?, file?)))
            .collect();
        self.files = (modules.iter().enumerate())
            .filter_map(|(index, module)| Some((index, Some(opened.remove(&identity(module)?)?))))
            .collect();
        self.modules = modules;
        self.units.clear();
        self.forget_addresses();
    }

    /// Forgets what addresses resolved to, and the names interned for them.
    fn forget_addresses(&mut self) {
        self.cache.clear();
        self.strings.clear();
    }

    /// What `address` (a lookup address: inside the instruction) resolves to.
    pub(crate) fn resolve(&mut self, address: u64) -> Rc<Resolved> {
        if let Some(hit) = self.cache.get(&address) {
            return hit.clone();
        }
        if self.cache.len() >= MAX_CACHED {
            self.forget_addresses();
        }
        let module = self.modules.iter().position(|m| m.text_in_memory().contains(&address));
        let frames = module.map(|index| self.lookup(index, address)).unwrap_or_default();
        let resolved = Rc::new(Resolved { module, frames });
        self.cache.insert(address, resolved.clone());
        resolved
    }

    /// Resolves `addresses` in address order, so that each compilation unit (a contiguous run
    /// of addresses) is parsed once, and the lookups in sample order that follow find every
    /// address cached. Sample order jumps between units: with units given up past the bound, it
    /// parsed the units of the quick start's first windows three times each. Skipped when the window's
    /// addresses would not all stay cached (the cache would start over before they are used).
    pub(crate) fn resolve_in_address_order(&mut self, addresses: impl IntoIterator<Item = u64>) {
        let mut addresses: Vec<u64> = addresses.into_iter().filter(|a| !self.cache.contains_key(a)).collect();
        addresses.sort_unstable();
        addresses.dedup();
        if self.cache.len() + addresses.len() <= MAX_CACHED {
            for address in addresses {
                self.resolve(address);
            }
        }
    }

    fn lookup(&mut self, index: usize, address: u64) -> Vec<Frame> {
        let module = &self.modules[index];
        let probe = address - module.bias;
        let Some(file) = self.files.entry(index).or_insert_with(|| ModuleFile::open(module)).as_ref() else {
            return Vec::new();
        };
        let mut raw = (file.dwarf.as_ref()).map(|dwarf| dwarf_frames(dwarf, &mut self.units, index, probe)).unwrap_or_default();
        if raw.is_empty() {
            let symbols = file.symbols.get_or_init(|| SymbolTable::read(&file.file));
            if let Some(symbol) = symbols.as_ref().and_then(|symbols| symbols.find(probe)) {
                raw.push((addr2line::demangle_auto(symbol.into(), None).into_owned(), None, 0));
            }
        }
        file.file.release();
        raw.into_iter()
            .map(|(function, file, line)| Frame {
                function: self.intern(&function),
                file: file.map(|f| self.intern(&f)),
                line,
            })
            .collect()
    }

    fn intern(&mut self, text: &str) -> Rc<str> {
        if let Some(shared) = self.strings.get(text) {
            return shared.clone();
        }
        let shared: Rc<str> = text.into();
        self.strings.insert(text.into(), shared.clone());
        shared
    }
}

/// What the DWARF of module `module` says of `probe`: from its unit alone, or if not all of it
/// can be read so (an entry refers into another unit), from its unit built again with the
/// units it refers to.
fn dwarf_frames(dwarf: &Dwarf, units: &mut UnitCache<UnitContext>, module: usize, probe: u64) -> Vec<RawFrame> {
    let Some(unit) = dwarf.unit_of(probe) else { return Vec::new() };
    let key = (module, unit);
    let build = |units: &[usize], with_references| Some(UnitContext { context: dwarf.context(units)?, with_references });
    let Some(built) = units.get_or_build(key, dwarf.size(&[unit]), || build(&[unit], false)) else { return Vec::new() };
    let (found, complete) = frames(&built.context, probe);
    if complete || built.with_references {
        return found;
    }
    units.remove(key);
    let with_references = dwarf.with_references(unit);
    let built = units.get_or_build(key, dwarf.size(&with_references), || build(&with_references, true));
    built.map(|built| frames(&built.context, probe).0).unwrap_or_default()
}

/// The named frames at `probe`, innermost first, as far as they can be read; and whether all
/// could.
fn frames(context: &addr2line::Context<Reader>, probe: u64) -> (Vec<RawFrame>, bool) {
    let mut found = Vec::new();
    let Ok(mut frames) = context.find_frames(probe).skip_all_loads() else { return (found, false) };
    loop {
        let frame = match frames.next() {
            Ok(Some(frame)) => frame,
            Ok(None) => return (found, true),
            Err(_) => return (found, false),
        };
        let Some(name) = frame.function.as_ref().and_then(|f| f.demangle().ok()) else { continue };
        let location = frame.location.as_ref();
        let (file, line) = (location.and_then(|l| l.file).map(str::to_owned), location.and_then(|l| l.line));
        found.push((name.into_owned(), file, line.unwrap_or(0)));
    }
}

#[cfg(test)]
mod tests {
    use object::{Object as _, ObjectSection as _};

    use super::*;

    #[inline(never)]
    fn a_function_to_find() -> u64 {
        std::hint::black_box(42)
    }

    #[test]
    fn resolves_this_function_demangled_with_file_and_line() {
        let (modules, _) = super::super::modules::loaded();
        let mut symbols = Symbolizer::new(modules);
        let resolved = symbols.resolve(a_function_to_find as *const () as u64 + 1);
        assert!(resolved.module.is_some());
        let frame = resolved.frames.last().expect("a frame");
        assert!(frame.function.ends_with("symbolize::tests::a_function_to_find"), "{frame:?}");
        assert!(frame.file.as_deref().is_some_and(|f| f.ends_with("symbolize.rs")), "{frame:?}");
        assert!(frame.line > 0);
    }

    #[test]
    fn an_address_parses_its_unit_and_no_other() {
        let (modules, _) = super::super::modules::loaded();
        let mut symbols = Symbolizer::new(modules);
        let here = a_function_to_find as *const () as u64 + 1;
        let index = symbols.resolve(here).module.expect("this test's module");
        let module = &symbols.modules[index];
        let dwarf = symbols.files[&index].as_ref().and_then(|file| file.dwarf.as_ref()).expect("this test's DWARF");
        let unit = dwarf.unit_of(here - module.bias).expect("its unit");
        assert_eq!((symbols.units.built, symbols.units.weight()), (1, dwarf.size(&[unit])));
        let bytes = std::fs::read(&module.path).expect("this test's file");
        let file = object::File::parse(&*bytes).expect("an object file");
        let info = file.section_by_name(".debug_info").expect("DWARF").size();
        assert!(dwarf.size(&[unit]) as u64 * 20 < info, "one unit of many: {} of {info}", dwarf.size(&[unit]));
    }

    #[test]
    fn addresses_resolved_in_address_order_parse_each_unit_once() {
        let (modules, _) = super::super::modules::loaded();
        let here = a_function_to_find as *const () as u64 + 1;
        // Another crate's function: another compilation unit (the standard library's DWARF
        // has line tables).
        let there = std::process::id as fn() -> u32 as usize as u64 + 1;
        // Sample order: back and forth between two units, one kept parsed at a time.
        let interleaved: Vec<u64> = (0..4).flat_map(|i| [here + i, there + i]).collect();
        let parses = |in_order: bool| {
            let mut symbols = Symbolizer::with_max_parsed(modules.clone(), 1);
            if in_order {
                symbols.resolve_in_address_order(interleaved.iter().copied());
            }
            let frames: Vec<_> = interleaved.iter().map(|&a| symbols.resolve(a).frames.clone()).collect();
            (symbols.units.built, frames)
        };
        let (in_sample_order, frames) = parses(false);
        let (in_address_order, same_frames) = parses(true);
        assert_eq!(frames, same_frames);
        assert_eq!(in_address_order, 2, "one parse per unit");
        assert!(in_sample_order >= 4, "{in_sample_order} parses back and forth");
    }

    #[test]
    fn modules_still_loaded_keep_their_files_when_the_list_changes() {
        let (mut modules, _) = super::super::modules::loaded();
        // Files are reused only by build id; whether the linker wrote one is not the question.
        for module in &mut modules {
            module.build_id.get_or_insert_with(|| module.path.display().to_string());
        }
        let mut symbols = Symbolizer::new(modules.clone());
        let here = a_function_to_find as *const () as u64 + 1;
        let before = symbols.resolve(here);
        let index = before.module.expect("this test's module");
        // A library is loaded and listed first: every other module moves down one place.
        let mut loaded = modules.last().cloned().expect("modules");
        loaded.bias += 1 << 40; // elsewhere in memory: holds none of these addresses
        symbols.set_modules([loaded].into_iter().chain(modules.iter().cloned()).collect());
        assert_eq!(symbols.files.keys().collect::<Vec<_>>(), [&(index + 1)], "the file read before is kept");
        let after = symbols.resolve(here);
        assert_eq!((after.module, &after.frames), (Some(index + 1), &before.frames));

        // Loaded again elsewhere, or rebuilt with another build id: a module of its own.
        for change in [|m: &mut Module| m.bias += 0x1000, |m: &mut Module| m.build_id = Some("0123".into())] {
            symbols.set_modules(modules.clone());
            symbols.resolve(here);
            assert_eq!(symbols.files.len(), 1);
            let mut changed = modules.clone();
            change(&mut changed[index]);
            symbols.set_modules(changed);
            assert!(symbols.files.is_empty(), "a changed module's file is not reused");
        }
    }

    #[test]
    fn code_no_symbol_covers_is_left_unnamed() {
        let (modules, _) = super::super::modules::loaded();
        let getpid = libc::getpid as *const () as u64;
        let libc = modules.iter().find(|m| m.text_in_memory().contains(&getpid)).expect("libc is loaded").clone();
        let table = SymbolTable::read(&MappedFile::open(&libc.path).expect("libc")).expect("libc's symbols");
        // Past `getpid`, a stretch of libc's code that no function symbol covers (padding
        // between functions, or in a stripped build an internal function): the nearest
        // exported symbol below it is not its name.
        let unnamed = (getpid - libc.bias..libc.text.end)
            .step_by(16)
            .find(|&a| table.find(a).is_none())
            .expect("code without a symbol");
        let mut symbols = Symbolizer::new(modules);
        assert_eq!(symbols.resolve(unnamed + libc.bias).frames, []);
        let named = symbols.resolve(getpid + 1);
        assert_eq!(named.frames.iter().map(|f| &*f.function).collect::<Vec<_>>(), ["getpid"]);
    }
}
