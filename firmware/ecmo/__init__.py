# ecmo-rig firmware package. The version lives here and nowhere else.
VERSION = "0.1.0"
