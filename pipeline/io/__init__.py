"""Reading and writing: thread files in, tables out, model files trusted."""
