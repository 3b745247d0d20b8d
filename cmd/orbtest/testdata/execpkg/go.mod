module example.com/execpkg

go 1.26
