//! The executable and shared libraries loaded in the process, as the unwinder, the symboliser
//! and the pprof mappings need them: where their code is, where their unwind tables are, which
//! file they came from.
//!
//! Read with `dl_iterate_phdr` on the collector thread, never in the signal handler. Unwind
//! tables are used where the loader mapped them (`PT_GNU_EH_FRAME`), so nothing is read from
//! disk or copied for unwinding.

use std::ffi::CStr;
use std::path::PathBuf;

/// One loaded object.
#[derive(Debug, Clone)]
pub(crate) struct Module {
    /// The file it was loaded from; for the executable, `/proc/self/exe` resolved.
    pub path: PathBuf,
    /// Load bias: what to add to an address in the file to get one in memory.
    pub bias: u64,
    /// The executable segment: in-file addresses and file offset.
    pub text: std::ops::Range<u64>,
    pub text_file_offset: u64,
    /// `.eh_frame_hdr` and `.eh_frame` as in-file address ranges, if the object has them.
    pub eh_frame_hdr: Option<std::ops::Range<u64>>,
    pub eh_frame: Option<std::ops::Range<u64>>,
    /// The GNU build id, lowercase hex.
    pub build_id: Option<String>,
    /// Whether `path` names a file (the vDSO has none).
    pub has_file: bool,
}

impl Module {
    /// The executable segment's addresses in memory.
    pub(crate) fn text_in_memory(&self) -> std::ops::Range<u64> {
        self.text.start + self.bias..self.text.end + self.bias
    }

    /// The bytes at in-file range `range`, where the loader mapped them.
    ///
    /// # Safety
    /// `range` must lie in a loaded, readable segment of this module, and the module must stay
    /// loaded for as long as the slice is used.
    pub(crate) unsafe fn mapped(&self, range: &std::ops::Range<u64>) -> &'static [u8] {
        // SAFETY: guaranteed by the caller.
        unsafe { std::slice::from_raw_parts((range.start + self.bias) as *const u8, (range.end - range.start) as usize) }
    }
}

/// The loaded objects now, and the loader's count of objects ever loaded and unloaded, which
/// changes whenever the list does.
pub(crate) fn loaded() -> (Vec<Module>, u64) {
    let mut state = (Vec::new(), 0u64);
    // SAFETY: the callback only reads the `dl_phdr_info` it is given, for the duration of the
    // call, and `data` is the `state` borrowed for that duration.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut state as *mut (Vec<Module>, u64)).cast()) };
    state
}

/// The loader's count of objects ever loaded and unloaded: cheap to ask often, and different
/// whenever [`loaded`] would return a different list.
pub(crate) fn generation() -> u64 {
    unsafe extern "C" fn first(info: *mut libc::dl_phdr_info, _: libc::size_t, data: *mut libc::c_void) -> libc::c_int {
        // SAFETY: `dl_iterate_phdr` passes a valid info; `data` is the `u64` of `generation`.
        unsafe { *data.cast::<u64>() = (*info).dlpi_adds + (*info).dlpi_subs };
        1
    }
    let mut generation = 0u64;
    // SAFETY: the callback writes only the local `generation` and stops after one object.
    unsafe { libc::dl_iterate_phdr(Some(first), (&mut generation as *mut u64).cast()) };
    generation
}

unsafe extern "C" fn visit(info: *mut libc::dl_phdr_info, _size: libc::size_t, data: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `dl_iterate_phdr` passes a valid info for the duration of the call, and `data`
    // is the `state` of `loaded`.
    let (info, state) = unsafe { (&*info, &mut *data.cast::<(Vec<Module>, u64)>()) };
    state.1 = info.dlpi_adds + info.dlpi_subs;
    // SAFETY: the loader's program headers, `dlpi_phnum` of them.
    let headers = unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) };
    // SAFETY: the loader's name string, NUL-terminated, or null.
    let name = (!info.dlpi_name.is_null()).then(|| unsafe { CStr::from_ptr(info.dlpi_name) }.to_string_lossy().into_owned());
    // SAFETY: the headers and the segments they describe belong to a loaded object.
    if let Some(module) = unsafe { describe(info.dlpi_addr, headers, name.unwrap_or_default()) } {
        state.0.push(module);
    }
    0
}

/// A module from its program headers.
///
/// # Safety
/// `headers` must be those of an object loaded at `bias`.
unsafe fn describe(bias: u64, headers: &[libc::Elf64_Phdr], name: String) -> Option<Module> {
    let text = headers.iter().find(|h| h.p_type == libc::PT_LOAD && h.p_flags & libc::PF_X != 0)?;
    let has_file = !name.is_empty() && name.starts_with('/');
    let path = if name.is_empty() {
        std::fs::read_link("/proc/self/exe").unwrap_or_default()
    } else {
        PathBuf::from(name)
    };
    let mut module = Module {
        has_file: has_file || path.is_absolute(),
        path,
        bias,
        text: text.p_vaddr..text.p_vaddr + text.p_memsz,
        text_file_offset: text.p_offset,
        eh_frame_hdr: None,
        eh_frame: None,
        build_id: None,
    };
    for header in headers {
        match header.p_type {
            libc::PT_GNU_EH_FRAME => {
                let hdr = header.p_vaddr..header.p_vaddr + header.p_memsz;
                // SAFETY: the segment is loaded (it is a PT_GNU_EH_FRAME of a loaded object).
                let bytes = unsafe { module.mapped(&hdr) };
                let eh_frame = eh_frame_address(bytes, hdr.start).and_then(|start| {
                    let segment = headers.iter().find(|h| {
                        h.p_type == libc::PT_LOAD && (h.p_vaddr..h.p_vaddr + h.p_memsz).contains(&start)
                    })?;
                    Some(start..segment.p_vaddr + segment.p_memsz)
                });
                module.eh_frame_hdr = Some(hdr);
                module.eh_frame = eh_frame;
            }
            libc::PT_NOTE => {
                let range = header.p_vaddr..header.p_vaddr + header.p_memsz;
                // SAFETY: PT_NOTE segments of a loaded object are mapped (they lie in a PT_LOAD).
                module.build_id = module.build_id.take().or_else(|| build_id(unsafe { module.mapped(&range) }));
            }
            _ => {}
        }
    }
    Some(module)
}

/// The in-file address of `.eh_frame`, from the `eh_frame_ptr` field of `.eh_frame_hdr`
/// (`version, eh_frame_ptr_enc, fde_count_enc, table_enc`, then the pointer).
fn eh_frame_address(hdr: &[u8], hdr_address: u64) -> Option<u64> {
    const ABSPTR: u8 = 0x00;
    const UDATA4: u8 = 0x03;
    const SDATA4: u8 = 0x0b;
    const UDATA8: u8 = 0x04;
    const SDATA8: u8 = 0x0c;
    const PCREL: u8 = 0x10;
    let (&version, rest) = hdr.split_first()?;
    let encoding = *rest.first()?;
    let field = hdr.get(4..)?;
    if version != 1 {
        return None;
    }
    let value = match encoding & 0x0f {
        UDATA4 => u64::from(u32::from_le_bytes(field.get(..4)?.try_into().ok()?)),
        SDATA4 => i64::from(i32::from_le_bytes(field.get(..4)?.try_into().ok()?)) as u64,
        ABSPTR | UDATA8 | SDATA8 => u64::from_le_bytes(field.get(..8)?.try_into().ok()?),
        _ => return None,
    };
    match encoding & 0x70 {
        0 => Some(value),
        PCREL => Some((hdr_address + 4).wrapping_add(value)),
        _ => None,
    }
}

/// The GNU build id in a note segment.
fn build_id(mut notes: &[u8]) -> Option<String> {
    const NT_GNU_BUILD_ID: u32 = 3;
    let word = |b: &[u8], at: usize| b.get(at..at + 4).map(|w| u32::from_le_bytes(w.try_into().unwrap_or_default()));
    let align4 = |n: usize| (n + 3) & !3;
    while notes.len() >= 12 {
        let (name_size, desc_size, kind) = (word(notes, 0)? as usize, word(notes, 4)? as usize, word(notes, 8)?);
        let desc_start = 12 + align4(name_size);
        let desc = notes.get(desc_start..desc_start + desc_size)?;
        if kind == NT_GNU_BUILD_ID && notes.get(12..12 + name_size) == Some(b"GNU\0") {
            return Some(desc.iter().map(|b| format!("{b:02x}")).collect());
        }
        notes = notes.get(desc_start + align4(desc_size)..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_found_with_its_unwind_tables() {
        let (modules, generation) = loaded();
        assert!(generation > 0);
        let here = the_executable_is_found_with_its_unwind_tables as *const () as u64;
        let exe = modules.iter().find(|m| m.text_in_memory().contains(&here)).expect("a module holds this code");
        assert!(exe.has_file && exe.path.is_file(), "{exe:?}");
        assert!(exe.eh_frame_hdr.is_some() && exe.eh_frame.is_some(), "{exe:?}");
    }

    #[test]
    fn eh_frame_pointers_decode() {
        // pcrel | sdata4, pointing 0x100 bytes after the field.
        let hdr = [1, 0x1b, 0x03, 0x3b, 0x00, 0x01, 0x00, 0x00];
        assert_eq!(eh_frame_address(&hdr, 0x1000), Some(0x1104));
        assert_eq!(eh_frame_address(&[2, 0x1b, 0, 0, 0, 0, 0, 0], 0), None);
    }
}
