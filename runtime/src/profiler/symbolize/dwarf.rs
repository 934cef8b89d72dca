//! A module's DWARF, read one compilation unit at a time.
//!
//! `addr2line::Context` reads every unit of the sections it is given as it is built (each
//! unit's abbreviations and line program header: 15 MB for the 800 units of a 100 MB debug
//! binary) and keeps every unit it parses. Here an address is first placed in its unit with a
//! small index (from `.debug_aranges`), then a context is built over a view of `.debug_info`
//! holding that unit alone, at its own offset: the units before it are hidden behind unit
//! headers gimli cannot parse (their abbreviations lie past the end of `.debug_abbrev`), which
//! `addr2line` skips. The other sections are the file's, mapped.
//!
//! A unit whose entries refer into other units by section offset (`DW_FORM_ref_addr`: the
//! inlined functions of link-time optimised code, and of the precompiled `compiler_builtins`)
//! cannot be read alone: a lookup in it fails, and it is built again with the units it refers
//! to ([`Dwarf::with_references`]).

use std::borrow::Cow;
use std::io;
use std::ops::Range;

use gimli::Section as _;
use object::{Object as _, ObjectSection as _};

use super::mapped_file::{Bytes, MappedFile, Reader};

/// Unit headers read between two releases of the file's pages while the units are listed:
/// each one read maps the 64 KiB around it.
const RELEASE_EVERY: usize = 64;

/// The units of one module's DWARF and the code each describes.
pub(crate) struct Dwarf {
    /// As in the file.
    sections: gimli::DwarfSections<Reader>,
    endian: gimli::RunTimeEndian,
    /// Each unit's extent in `.debug_info`, in order.
    units: Vec<Range<usize>>,
    /// `(start, end, unit)`: the code addresses each unit describes, sorted by start.
    ranges: Vec<(u64, u64, usize)>,
}

impl Dwarf {
    /// The DWARF of `file`: `None` if it has none or is not an object file.
    pub(crate) fn new(file: &MappedFile) -> Option<Self> {
        let bytes = file.bytes();
        let object = object::File::parse(&**bytes).ok()?;
        let endian = if object.is_little_endian() { gimli::RunTimeEndian::Little } else { gimli::RunTimeEndian::Big };
        let sections = gimli::DwarfSections::load(|id| section(bytes, &object, id.name(), endian)).ok()?;
        let mut dwarf = Self { sections, endian, units: Vec::new(), ranges: Vec::new() };
        if dwarf.sections.debug_info.reader().is_empty() {
            return None;
        }
        dwarf.units = dwarf.list_units(file);
        dwarf.ranges = dwarf.unit_ranges(file);
        file.release();
        Some(dwarf)
    }

    /// The unit describing the code at `address` (a file address), if any.
    pub(crate) fn unit_of(&self, address: u64) -> Option<usize> {
        let after = self.ranges.partition_point(|&(start, _, _)| start <= address);
        let &(_, end, unit) = self.ranges.get(after.checked_sub(1)?)?;
        (address < end).then_some(unit)
    }

    /// `.debug_info` bytes of `units`: what parsing them costs, near enough.
    pub(crate) fn size(&self, units: &[usize]) -> usize {
        units.iter().map(|&unit| self.units[unit].len()).sum()
    }

    /// `unit` and the units its entries refer to by section offset, in order.
    pub(crate) fn with_references(&self, unit: usize) -> Vec<usize> {
        let mut units = self.references(unit);
        units.push(unit);
        units.sort_unstable();
        units
    }

    /// A context over `units` (in order). `None` if it cannot be built.
    pub(crate) fn context(&self, units: &[usize]) -> Option<addr2line::Context<Reader>> {
        let mut dwarf = self.sections.borrow(Reader::clone);
        dwarf.debug_info = self.view(units).ok()?.into();
        // The units in the view give their own ranges.
        dwarf.debug_aranges = self.empty().into();
        addr2line::Context::from_dwarf(dwarf).ok()
    }

    /// Every unit's extent, from the unit headers: a header that cannot be read ends the list.
    fn list_units(&self, file: &MappedFile) -> Vec<Range<usize>> {
        let mut units = Vec::new();
        let mut headers = self.sections.debug_info.units();
        while let Ok(Some(header)) = headers.next() {
            if let Some(offset) = header.offset().as_debug_info_offset() {
                units.push(offset.0..offset.0 + header.length_including_self());
            }
            if units.len() % RELEASE_EVERY == 0 {
                file.release();
            }
        }
        units
    }

    /// The index of the code each unit describes: from `.debug_aranges`, and for a unit
    /// without an entry there, from its root entry's ranges (which costs parsing its
    /// abbreviations).
    fn unit_ranges(&self, file: &MappedFile) -> Vec<(u64, u64, usize)> {
        let mut ranges = Vec::new();
        let mut described = vec![false; self.units.len()];
        let mut sets = self.sections.debug_aranges.headers();
        while let Ok(Some(set)) = sets.next() {
            let Some(unit) = self.unit_at(set.debug_info_offset().0) else { continue };
            let mut entries = set.entries();
            // An entry that cannot be read (an address past the address space, seen for a
            // unit holding one variable) is skipped; the iterator ends on a malformed set.
            while let Some(entry) = entries.next().transpose() {
                let Ok(entry) = entry else { continue };
                let range = entry.range();
                if range.begin < range.end {
                    ranges.push((range.begin, range.end, unit));
                    described[unit] = true;
                }
            }
        }
        let dwarf = self.sections.borrow(Reader::clone);
        let undescribed = described.iter().enumerate().filter(|(_, described)| !**described).map(|(unit, _)| unit);
        for (count, unit) in undescribed.enumerate() {
            let root_ranges = || -> gimli::Result<Vec<gimli::Range>> {
                let header = dwarf.debug_info.header_from_offset(gimli::DebugInfoOffset(self.units[unit].start))?;
                // Type and partial units hold no code.
                if !matches!(header.type_(), gimli::UnitType::Compilation | gimli::UnitType::Skeleton(_)) {
                    return Ok(Vec::new());
                }
                let mut ranges = dwarf.unit_ranges(&dwarf.unit(header)?)?;
                std::iter::from_fn(|| ranges.next().transpose()).collect()
            };
            let root_ranges = root_ranges().unwrap_or_default();
            ranges.extend(root_ranges.into_iter().filter(|r| r.begin < r.end).map(|r| (r.begin, r.end, unit)));
            if count % RELEASE_EVERY == RELEASE_EVERY - 1 {
                file.release();
            }
        }
        ranges.sort_unstable();
        // Neighbours from one unit become one range: a debug build lists every function.
        ranges.dedup_by(|next, kept| {
            let same_unit = next.2 == kept.2;
            if same_unit {
                kept.1 = kept.1.max(next.1);
            }
            same_unit
        });
        ranges.shrink_to_fit();
        ranges
    }

    /// The unit holding `offset` in `.debug_info`.
    fn unit_at(&self, offset: usize) -> Option<usize> {
        let after = self.units.partition_point(|unit| unit.start <= offset);
        let unit = after.checked_sub(1)?;
        self.units[unit].contains(&offset).then_some(unit)
    }

    /// The units other than `unit` that its entries refer to by section offset.
    fn references(&self, unit: usize) -> Vec<usize> {
        let dwarf = self.sections.borrow(Reader::clone);
        let mut found = Vec::new();
        let mut scan = || -> gimli::Result<()> {
            let header = dwarf.debug_info.header_from_offset(gimli::DebugInfoOffset(self.units[unit].start))?;
            let parsed = dwarf.unit(header)?;
            let mut entries = parsed.entries_raw(None)?;
            while !entries.is_empty() {
                let Some(abbreviation) = entries.read_abbreviation()? else { continue };
                for spec in abbreviation.attributes() {
                    if let gimli::AttributeValue::DebugInfoRef(target) = entries.read_attribute(*spec)?.value() {
                        found.extend(self.unit_at(target.0).filter(|&other| other != unit));
                    }
                }
            }
            Ok(())
        };
        // What was found before an entry that cannot be read is still worth including.
        let _ = scan();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// `.debug_info` as a view holding `units` (in order) at their offsets, the bytes between
    /// them hidden. The view is anonymous memory: the bytes not written are never touched, so
    /// they take no memory.
    fn view(&self, units: &[usize]) -> io::Result<Reader> {
        let info = self.sections.debug_info.reader();
        let end = units.last().map_or(0, |&unit| self.units[unit].end);
        let mut view = memmap2::MmapMut::map_anon(end)?;
        // With transparent huge pages, each page written would take 2 MiB.
        let _ = view.advise(memmap2::Advice::NoHugePage);
        let mut hidden_from = 0;
        for &unit in units {
            let range = self.units[unit].clone();
            hide(&mut view[hidden_from..range.start], self.endian)?;
            let bytes = info.get(range.clone()).ok_or(io::ErrorKind::InvalidData)?;
            view[range.clone()].copy_from_slice(bytes);
            hidden_from = range.end;
        }
        Ok(Reader::new(Bytes::mapped(view.make_read_only()?), self.endian))
    }

    fn empty(&self) -> Reader {
        Reader::new(Bytes::owned([]), self.endian)
    }
}

/// Makes `hole` (whole units left out of a view: empty, or at least one unit header long)
/// read as one unit whose abbreviations lie past the end of any `.debug_abbrev`, which gimli
/// cannot parse and `addr2line` therefore skips.
fn hide(hole: &mut [u8], endian: gimli::RunTimeEndian) -> io::Result<()> {
    use gimli::Endianity as _;
    const VERSION: u16 = 4;
    const ADDRESS_SIZE: u8 = 8;
    /// Unit lengths from here on are escapes, or mean 64-bit DWARF.
    const DWARF32_MAX: usize = 0xffff_fff0;
    let length = hole.len();
    if length == 0 {
        return Ok(());
    }
    let too_short = || io::Error::from(io::ErrorKind::InvalidData);
    if length - 4 < DWARF32_MAX {
        // unit_length, version, debug_abbrev_offset, address_size
        let header = hole.get_mut(..11).ok_or_else(too_short)?;
        endian.write_u32(&mut header[0..4], (length - 4) as u32);
        endian.write_u16(&mut header[4..6], VERSION);
        endian.write_u32(&mut header[6..10], u32::MAX);
        header[10] = ADDRESS_SIZE;
    } else {
        let header = hole.get_mut(..23).ok_or_else(too_short)?;
        endian.write_u32(&mut header[0..4], u32::MAX);
        endian.write_u64(&mut header[4..12], (length - 12) as u64);
        endian.write_u16(&mut header[12..14], VERSION);
        endian.write_u64(&mut header[14..22], u64::MAX);
        header[22] = ADDRESS_SIZE;
    }
    Ok(())
}

/// The section called `name` in `object` (whose bytes are `bytes`), where it lies in the
/// mapped file, or decompressed if the linker compressed it; empty if there is none.
fn section(
    bytes: &Bytes,
    object: &object::File<'_>,
    name: &str,
    endian: gimli::RunTimeEndian,
) -> Result<Reader, object::Error> {
    let data = match object.section_by_name(name) {
        Some(section) => section.uncompressed_data()?,
        None => Cow::Borrowed(&[][..]),
    };
    let in_file = match &data {
        Cow::Borrowed(data) => (data.as_ptr() as usize)
            .checked_sub(bytes.as_ptr() as usize)
            .filter(|&start| start + data.len() <= bytes.len())
            .map(|start| start..start + data.len()),
        Cow::Owned(_) => None,
    };
    Ok(match in_file {
        Some(range) => Reader::new(bytes.clone(), endian).range(range),
        None => Reader::new(Bytes::owned(data.into_owned()), endian),
    })
}

#[cfg(test)]
mod tests {
    use super::super::unit_cache::UnitCache;
    use super::super::{dwarf_frames, frames, Symbolizer, UnitContext};
    use super::*;

    /// The modules loaded, which of them holds this test, and its DWARF.
    fn this_binary() -> (Vec<super::super::Module>, usize, Dwarf) {
        let (modules, _) = crate::profiler::modules::loaded();
        let here = this_binary as *const () as u64;
        let index = modules.iter().position(|m| m.text_in_memory().contains(&here)).expect("this test's module");
        let file = MappedFile::open(&modules[index].path).expect("this test's file");
        let dwarf = Dwarf::new(&file).expect("this test's DWARF");
        (modules, index, dwarf)
    }

    /// The index's ranges in `module`'s code: the linker leaves the ranges of functions it
    /// discarded at address 0.
    fn live_ranges<'a>(dwarf: &'a Dwarf, module: &super::super::Module) -> impl Iterator<Item = &'a (u64, u64, usize)> {
        let text = module.text.clone();
        dwarf.ranges.iter().filter(move |(start, end, _)| text.start <= *start && *end <= text.end)
    }

    /// Addresses (in the file) spread over about `count` units of `module`'s DWARF, two in
    /// each: the start of one of its functions and a little way in.
    fn spread(dwarf: &Dwarf, module: &super::super::Module, count: usize) -> Vec<u64> {
        let step = (live_ranges(dwarf, module).count() / count).max(1);
        live_ranges(dwarf, module).step_by(step).flat_map(|&(start, end, _)| [start, (start + 16).min(end - 1)]).collect()
    }

    #[test]
    fn units_read_alone_resolve_as_the_whole_file_does() {
        let (modules, index, dwarf) = this_binary();
        let whole = addr2line::Context::from_dwarf(dwarf.sections.borrow(Reader::clone)).expect("a context over every unit");
        // Units that refer into others: the precompiled `compiler_builtins` is linked last.
        let referring: Vec<usize> =
            (0..dwarf.units.len()).rev().take(200).filter(|&unit| !dwarf.references(unit).is_empty()).take(3).collect();
        let referring_addresses = (live_ranges(&dwarf, &modules[index]))
            .filter(|(_, _, unit)| referring.contains(unit))
            .flat_map(|&(start, end, _)| start..end);
        let addresses: Vec<u64> = spread(&dwarf, &modules[index], 150).into_iter().chain(referring_addresses.step_by(7).take(300)).collect();
        let mut units = UnitCache::new(1 << 20);
        let mut named = 0;
        for &address in &addresses {
            let (expected, _) = frames(&whole, address);
            assert_eq!(dwarf_frames(&dwarf, &mut units, 0, address), expected, "at {address:#x}");
            named += usize::from(!expected.is_empty());
        }
        assert!(named * 2 > addresses.len(), "most addresses have frames: {named} of {}", addresses.len());
        for unit in referring {
            let kept = units.get_or_build((0, unit), 0, || None::<UnitContext>);
            assert!(kept.is_none_or(|kept| kept.with_references), "unit {unit} was read with the units it refers to");
        }
    }

    #[test]
    fn the_units_kept_stay_within_their_bound() {
        let (modules, index, dwarf) = this_binary();
        let (bias, addresses) = (modules[index].bias, spread(&dwarf, &modules[index], 100));
        let bound = 256 << 10;
        let mut bounded = Symbolizer::with_max_parsed(modules.clone(), bound);
        let mut unbounded = Symbolizer::with_max_parsed(modules, usize::MAX);
        // Twice, the addresses forgotten in between: the second time, only the bounded one
        // has to parse units again.
        for _ in 0..2 {
            bounded.forget_addresses();
            unbounded.forget_addresses();
            for &address in &addresses {
                let frames = &bounded.resolve(address + bias).frames;
                assert_eq!(frames, &unbounded.resolve(address + bias).frames);
                let units = &bounded.units;
                assert!(units.weight() <= bound || units.len() == 1, "{} bytes of DWARF in {} units", units.weight(), units.len());
            }
        }
        assert!(unbounded.units.weight() > 4 * bound, "the bound was tested: {}", unbounded.units.weight());
        assert!(bounded.units.built > unbounded.units.built, "units given up were parsed again");
    }

    #[test]
    fn a_hidden_stretch_reads_as_one_unit_gimli_cannot_parse() {
        let endian = gimli::RunTimeEndian::Little;
        let mut bytes = vec![0xaa; 100];
        hide(&mut bytes, endian).expect("long enough");
        let info = gimli::DebugInfo::new(&bytes, gimli::LittleEndian);
        let mut headers = info.units();
        let header = headers.next().expect("a header").expect("one unit");
        assert_eq!(header.length_including_self(), 100);
        assert!(headers.next().expect("the end").is_none());
        let abbreviations = gimli::DebugAbbrev::new(&[0; 1024], gimli::LittleEndian);
        assert!(header.abbreviations(&abbreviations).is_err());
        assert!(hide(&mut [0; 10], endian).is_err(), "shorter than a unit header");
        assert!(hide(&mut [], endian).is_ok());
    }
}
