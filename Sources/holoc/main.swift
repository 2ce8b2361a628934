print("holoc")
