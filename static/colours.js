// People's colours on the server-rendered markup. The Content-Security-Policy refuses
// inline style attributes (style-src 'self'), so the templates write a colour as
// data-colour (text) or data-fill (a swatch's background) and this sets it through the
// CSSOM, which the policy allows. Markup the page scripts add later sets its own.
(function () {
    'use strict';

    document.querySelectorAll('[data-colour]').forEach(function (el) {
        el.style.color = el.dataset.colour;
    });
    document.querySelectorAll('[data-fill]').forEach(function (el) {
        el.style.background = el.dataset.fill;
    });
})();
