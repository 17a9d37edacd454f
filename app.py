"""The loopzoo page as a Hugging Face Space (Gradio SDK): ``python app.py``.

A Space needs this file and a ``requirements.txt`` holding ``loopzoo[web,chess]``. Locally,
``loopzoo serve`` shows the same page. The box that loads any server directory is off here.
"""
from loopzoo.web.page import build, launch

demo = build(allow_dirs=False)

if __name__ == "__main__":
    launch(demo, host=None)
