//! A plugin built against `tollgate:plugin@0.9.0`, a version this host does not know: the
//! contract test checks that it is refused by version, before linking.

wit_bindgen::generate!({ path: "wit", world: "plugin" });

struct Future;

impl Guest for Future {
    fn describe() -> String {
        tollgate::plugin::log::log("describe");
        "future".into()
    }

    fn run() -> String {
        "ran".into()
    }
}

export!(Future);
