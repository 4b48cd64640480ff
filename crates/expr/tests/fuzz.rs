//! Property tests: the parser is total (any text gives a tree or an error inside the text, never a
//! panic), and every metric condition that type-checks evaluates without panicking on any value of
//! that type, NaN and ±Inf included.

use proptest::prelude::*;
use tollgate_expr::metric::{self, Condition, Type, Value};
use tollgate_expr::syntax::{self, Dialect};

const EVERYTHING: Dialect = Dialect {
    name: "a fuzzed expression",
    functions: metric::FUNCTIONS,
    double_quotes: true,
    dashed_names: true,
    durations: true,
    arithmetic: true,
    word_operators: true,
    predicates: true,
};

/// Fragments that make up plausible conditions, so most inputs get past the lexer.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("result".to_string()),
        Just("#".to_string()),
        Just("[0]".to_string()),
        Just("len(".to_string()),
        Just("all(".to_string()),
        Just("isNaN(".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just(", ".to_string()),
        Just(" && ".to_string()),
        Just(" or ".to_string()),
        Just("!".to_string()),
        Just(" < ".to_string()),
        Just(" == ".to_string()),
        Just(" - ".to_string()),
        Just("0.01".to_string()),
        Just("5m".to_string()),
        Just("\"x\"".to_string()),
        Just("'y'".to_string()),
        "[ -~]{0,3}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        any::<f64>(),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
    ];
    prop_oneof![
        number.clone().prop_map(Value::Number),
        prop::collection::vec(number.prop_map(Value::Number), 0..4).prop_map(Value::List),
        "[a-z0-9.]{0,4}".prop_map(Value::Text),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_text_parses_or_errors_inside_it(text in "\\PC{0,40}") {
        let len = text.chars().count();
        if let Err(e) = syntax::parse(&text, &EVERYTHING) {
            prop_assert!(e.offset <= len, "offset {} beyond {len}", e.offset);
        }
    }

    #[test]
    fn checked_conditions_evaluate_totally(parts in prop::collection::vec(fragment(), 1..12), result in value()) {
        let text = parts.concat();
        let len = text.chars().count();
        match Condition::parse(&text) {
            Err(e) => prop_assert!(e.offset <= len),
            Ok(condition) => {
                let t = match &result {
                    Value::Number(_) => Type::Number,
                    Value::List(_) => Type::vector(),
                    _ => Type::Text,
                };
                if condition.check(&t).is_ok() {
                    // An error is fine (an empty vector indexed); a panic is not.
                    let _ = condition.eval(&result);
                }
            }
        }
    }
}
