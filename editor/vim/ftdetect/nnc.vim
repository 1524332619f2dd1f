" nnc .model files (nnc-model(5)); setfiletype leaves files another
" detection already claimed alone.
autocmd BufRead,BufNewFile *.model setfiletype nnc
