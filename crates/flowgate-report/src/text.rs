use crate::Meta;
use flowgate_flow::Baseline;
pub fn render(_b: &Baseline, _m: &Meta) -> String {
    String::new()
}
