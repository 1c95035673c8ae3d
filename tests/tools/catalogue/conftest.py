"""The catalogue releases are package sources copied into a scratch package, not test modules."""

collect_ignore = ["old_impl.py", "new_impl.py"]
