"""The first import of every bench script (run as `.venv/bin/python bench/<name>.py`): puts the
project on the path and sets Django up on its settings (unless DJANGO_SETTINGS_MODULE says
otherwise), so the script can import the project's modules after it."""

import os
import sys
from pathlib import Path

import django

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
