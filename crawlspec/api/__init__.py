"""What the Research API is: field lists, operations, endpoint paths, limits, quota pools and region codes.

Pure data and pure functions, no I/O: the spec compiler, the client, the crawl and the simulator all read
their facts about the API from here, so a change of the API is a change in one place.
"""
