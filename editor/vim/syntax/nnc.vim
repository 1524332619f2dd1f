" Vim syntax file
" Language: the nnc .model language, nnc-model(5)
" Keywords: the statement table in compiler/lower.c (tests/14-editor.t
" checks that every statement and value there is here).
if exists('b:current_syntax')
  finish
endif

syn case match

syn keyword nncStatement model input dense conv2d conv maxpool avgpool batchnorm dropout flatten
syn keyword nncStatement loss optimizer weight_decay batch epochs seed schedule clip_norm
syn keyword nncActivation linear relu sigmoid tanh softmax leaky_relu
syn keyword nncValue glorot he zeros cross_entropy mse sgd adam valid same true false none step cosine plateau
syn match nncOption '\<[a-z_][a-z0-9_]*\ze\s*='
syn match nncDims '\<\d\+x\d\+\%(x\d\+\)\=\>'
syn match nncNumber '\%(^\|[ \t=]\)\zs[-+]\=\%(\d\+\.\=\d*\|\.\d\+\)\%([eE][-+]\=\d\+\)\=\>'
syn match nncNumber '\%(^\|[ \t=]\)\zs[-+]\=\d\+\.\%(\s\|;\|$\)\@='
syn match nncDelimiter ';'
syn keyword nncTodo TODO FIXME XXX contained
syn match nncComment '#.*$' contains=nncTodo

hi def link nncStatement Statement
hi def link nncActivation Function
hi def link nncValue Constant
hi def link nncOption Identifier
hi def link nncDims Number
hi def link nncNumber Number
hi def link nncDelimiter Delimiter
hi def link nncTodo Todo
hi def link nncComment Comment

let b:current_syntax = 'nnc'
