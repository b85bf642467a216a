# For editors and pyright only: on a board, `board` is the board file deploy copied as board.py
# (boards/board_pico.py or boards/board_esp32.py). Pyright reads the Pico's here.
from board_pico import *  # noqa: F401,F403
