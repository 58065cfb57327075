// The room list (GET /): keeps head counts, owners, new rooms and deleted rooms up to date
// through the `/room` namespace. A new room is a copy of the page's <template>, rendered
// from the same macro as the list. Everything from the network goes in with textContent
// only.
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

    function setOwner(item, owner) {
        var who = item.querySelector('.room-owner .who');
        who.querySelector('.who-name').textContent = owner.name;
        Array.prototype.slice.call(who.classList).forEach(function (name) {
            if (name.indexOf('tone-') === 0) who.classList.remove(name);
        });
        who.classList.add('tone-' + Number(owner.tone));
    }

    function roomItem(room) {
        var id = Number(room.id);
        var href = '/room/' + id;
        var template = document.getElementById(room.secret ? 'room-item-secret' : 'room-item-public');
        var item = template.content.firstElementChild.cloneNode(true);
        item.dataset.roomId = String(id);
        var title = item.querySelector('.room-title');
        title.textContent = room.title;
        title.href = href;
        item.querySelector('.room-enter').href = href;
        setOwner(item, room.owner);
        item.querySelector('.room-count-now').textContent = String(room.count);
        item.querySelector('.room-count-max').textContent = String(Number(room.max));
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

    socket.on('roomOwner', function (data) {
        var item = findRoom(data.id);
        if (item && data.owner) setOwner(item, data.owner);
    });
})();
