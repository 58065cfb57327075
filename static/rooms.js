// The room list (GET /): keeps head counts, new rooms and deleted rooms up to date through
// the `/room` namespace. Everything from the network goes in with textContent only.
(function () {
    'use strict';

    var listEl = document.getElementById('room-list');
    var emptyEl = document.getElementById('room-empty');

    function findRoom(id) {
        return listEl.querySelector('[data-room-id="' + Number(id) + '"]');
    }

    function showEmpty() {
        emptyEl.hidden = listEl.children.length > 0;
    }

    function el(tag, className, text) {
        var node = document.createElement(tag);
        if (className) node.className = className;
        if (text !== undefined) node.textContent = text;
        return node;
    }

    function colourName(colour) {
        var wrap = document.createDocumentFragment();
        var swatch = el('span', 'swatch');
        swatch.style.background = colour;
        var name = el('span', null, colour);
        name.style.color = colour;
        wrap.appendChild(swatch);
        wrap.appendChild(name);
        return wrap;
    }

    // The same markup as templates/index.html.
    function roomItem(room) {
        var id = Number(room.id);
        var href = '/room/' + id;
        var item = el('li', 'room');
        item.dataset.roomId = String(id);

        var main = el('div', 'room-main');
        var title = el('a', 'room-title', room.title);
        title.href = href;
        main.appendChild(title);
        main.appendChild(room.secret
            ? el('span', 'badge badge-secret', '비밀방')
            : el('span', 'badge badge-public', '공개방'));

        var meta = el('div', 'room-meta');
        var owner = el('span', 'room-owner', '방장 ');
        owner.appendChild(colourName(room.owner));
        var count = el('span', 'room-count');
        count.appendChild(el('span', 'room-count-now', String(room.count)));
        count.appendChild(document.createTextNode(' / ' + Number(room.max) + '명'));
        meta.appendChild(owner);
        meta.appendChild(count);

        var enter = el('a', 'button room-enter', '입장');
        enter.href = href;

        item.appendChild(main);
        item.appendChild(meta);
        item.appendChild(enter);
        return item;
    }

    var socket = io('/room', { path: '/socket.io' });

    socket.on('newRoom', function (room) {
        if (findRoom(room.id)) return;
        listEl.insertBefore(roomItem(room), listEl.firstChild);
        showEmpty();
    });

    socket.on('removeRoom', function (id) {
        var item = findRoom(id);
        if (item) item.remove();
        showEmpty();
    });

    socket.on('roomCount', function (data) {
        var item = findRoom(data.id);
        var count = item && item.querySelector('.room-count-now');
        if (count) count.textContent = String(data.count);
    });
})();
