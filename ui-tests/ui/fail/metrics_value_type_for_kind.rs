// Each kind with a value type it does not record: expanded with its first type, so the uses
// compile.
spanscope::metrics! {
    pub a: Counter<i64>,
    pub b: UpDownCounter<u64>,
    pub c: Histogram<i64>,
    pub d: Gauge<u32>,
    pub e: ObservableCounter<i64> { callback: e_cb },
    pub f: ObservableUpDownCounter<u64> { callback: f_cb },
    pub g: ObservableGauge<String> { callback: g_cb },
}

fn e_cb(_: &mut e::Observer<'_>) {}
fn f_cb(_: &mut f::Observer<'_>) {}
fn g_cb(_: &mut g::Observer<'_>) {}

fn main() {
    a::add(1, a::Attributes {});
    b::add(-1, b::Attributes {});
    c::record(1, c::Attributes {});
    d::record(1, d::Attributes {});
}
