// MathJax 3 configuration, read before assets/mathjax/tex-chtml-full.js loads.
// pymdownx.arithmatex (generic mode) wraps every formula in an element of
// class "arithmatex" holding \( ... \) or \[ ... \]; only those are typeset.
window.MathJax = {
  tex: {
    inlineMath: [["\\(", "\\)"]],
    displayMath: [["\\[", "\\]"]],
    processEscapes: true,
    processEnvironments: true,
  },
  options: {
    ignoreHtmlClass: ".*|",
    processHtmlClass: "arithmatex",
    // The accessibility menu would lazy-load extra components from the
    // (absent) full MathJax tree; the site ships only the TeX build.
    enableMenu: false,
  },
};
