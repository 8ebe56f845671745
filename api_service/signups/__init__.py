"""placeholder"""
ACTIONS: list = []
