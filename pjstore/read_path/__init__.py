"""The serving path: request -> select scale -> read prefix -> render (`pjstore.render`).

`select` picks the stored scale a request is served from, `prefix` reads only its bytes, `serve`
runs the two and hands the prefix to the render core; `original` hands out the whole stored file
(`/original`, `export`).
"""
