use spanscope::local;

#[local]
const fn double(n: u32) -> u32 {
    n * 2
}

fn main() {
    double(2);
}
