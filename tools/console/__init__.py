# The bench console (issue 18): `ecmo console --port PORT | --sim`, see server.py.
