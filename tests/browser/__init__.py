import pytest

# helpers.py asserts on the tests' behalf (sign-in landings, codes, leaks, page errors):
# rewritten like a test module's, a failed assert there shows the values it compared.
pytest.register_assert_rewrite("tests.browser.helpers")
