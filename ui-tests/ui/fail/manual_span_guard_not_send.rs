// A guard from `enter()` stays on the thread that entered its span; to carry a span to
// another thread, use `instrument` on a future or `spanscope::capture()`.

fn main() {
    let guard = spanscope::span::local("job").enter();
    std::thread::spawn(move || guard.end());
}
