"""__NAME__: a Tollgate plugin."""

import wit_world

import tollgate


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return tollgate.plugin_info(
            name="__NAME__",
            version="0.1.0",
            summary="Greets someone by name.",
            inputs=[tollgate.input("name", "string", "Who to greet.", default="world")],
            outputs=[tollgate.output("greeting", "The greeting, e.g. `Hello, world!`.")],
        )

    def run(self, inputs, context):
        name = tollgate.values(inputs)["name"]
        if not name.strip():
            raise tollgate.invalid_input("name", "must not be empty: give the name to greet")
        tollgate.info(f"greeting {name}")
        tollgate.set_output("greeting", f"Hello, {name}!")
        return tollgate.passed(f"greeted {name}")
