//! Every case of tests/data/mentions.txt through `protocol::mentions`, the
//! rule the consoles use (the browser's copy, web/mentions.js, runs the
//! same file in tests/web.rs): one rule, two languages, one list of cases.

use wachat::protocol::mentions::mentions;

#[test]
fn every_case_of_the_shared_file_holds() {
    let cases =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/mentions.txt")).unwrap();
    let mut checked = 0;
    for (n, line) in cases.lines().enumerate() {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [user, text, expected] = fields[..] else { panic!("line {}: three fields, not {line:?}", n + 1) };
        let expected = match expected {
            "1" => true,
            "0" => false,
            other => panic!("line {}: 1 or 0, not {other:?}", n + 1),
        };
        assert_eq!(mentions(text, user), expected, "line {}: does {text:?} mention {user}?", n + 1);
        checked += 1;
    }
    assert!(checked >= 20, "only {checked} cases");
}
